// Reconnect delays. A server that answered and then closed (restarting, its channel
// layer down) is retried with an exponential backoff capped low; a server that does
// not answer at all is tried again every 0.6–1 s, since a refused connection costs
// it nothing and the page is back within a second of its return. Both are spread
// at random so the pages of a restarted server do not all come back in one instant.

export const DEFAULT_BACKOFF = Object.freeze({ initial: 500, max: 4000, factor: 2, jitter: 0.3, unreachable: 1000 });

/** Return the delay in ms before retry number `attempt` (0 for the first). */
export function backoffDelay(attempt, { initial, max, factor, jitter }, random) {
  const base = Math.min(max, initial * factor ** attempt);
  const spread = base * jitter * (2 * random() - 1);
  return Math.round(Math.max(0, Math.min(max, base + spread)));
}

/** Return the delay in ms before trying a server that did not answer again: 60–100 % of `unreachable`. */
export function unreachableDelay({ unreachable }, random) {
  return Math.round(unreachable * (0.6 + 0.4 * random()));
}
