// Reconnect delays: exponential, capped, and spread out so the pages of a
// restarted server do not all come back in the same instant.

export const DEFAULT_BACKOFF = Object.freeze({ initial: 500, max: 15000, factor: 2, jitter: 0.3 });

/** Return the delay in ms before retry number `attempt` (0 for the first). */
export function backoffDelay(attempt, { initial, max, factor, jitter }, random) {
  const base = Math.min(max, initial * factor ** attempt);
  const spread = base * jitter * (2 * random() - 1);
  return Math.round(Math.max(0, Math.min(max, base + spread)));
}
