// Reconnect delays: exponential, capped low, and spread out so the pages of a
// restarted server do not all come back in the same instant. While the socket is
// down a cheap probe (GET /healthz) tells the page sooner that the server is back.

export const DEFAULT_BACKOFF = Object.freeze({ initial: 500, max: 4000, factor: 2, jitter: 0.3 });

// Probes of a server that refuses connections cost it nothing, so they come
// often (every 0.6–1 s, spread so pages do not probe in step); probes that a
// server answers "unhealthy" cost it a request each, so they back off like the socket.
export const DEFAULT_PROBE = Object.freeze({ initial: 1000, max: 8000, factor: 2, jitter: 0.2 });

/** Return the delay in ms before retry number `attempt` (0 for the first). */
export function backoffDelay(attempt, { initial, max, factor, jitter }, random) {
  const base = Math.min(max, initial * factor ** attempt);
  const spread = base * jitter * (2 * random() - 1);
  return Math.round(Math.max(0, Math.min(max, base + spread)));
}

/**
 * Return the delay in ms before the next health probe: `unhealthy` is how many
 * probes in a row the server answered but was not ready. A server that does not
 * answer at all is probed at 60–100 % of `initial`.
 */
export function probeDelay(unhealthy, probe, random) {
  if (unhealthy === 0) return Math.round(probe.initial * (0.6 + 0.4 * random()));
  return backoffDelay(unhealthy, probe, random);
}
