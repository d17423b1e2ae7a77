// What a widget needs when it starts: how many stored samples the socket
// should send (backfill), and how many seconds its window spans, so the part
// older than that backfill can come from the history API. What each kind asks
// for is its row of the server's table (dashboards/kinds.py), sent with the page.

// A window in seconds has no sample count; this many recent samples cover it
// for slow streams, and the history API fills in the rest for fast ones.
export const SECONDS_WINDOW_BACKFILL = 2000;

/**
 * Return {backfill, seconds} for a widget of the kind `spec` (its row of the
 * table: {config, backfill: {points, window_points, window_seconds, candles}})
 * with `config`; an unknown kind (no row) asks for nothing.
 */
export function widgetPlan(spec, config = {}, maxBackfill = 10_000) {
  if (!spec) return { backfill: 0, seconds: null };
  const cap = (count) => Math.max(0, Math.min(maxBackfill, Math.round(count)));
  const { backfill: plan, config: defaults } = spec;
  // The latest value of a stat is one sample, whatever its window.
  if ("stat" in defaults && (config.stat ?? defaults.stat) === "latest") return { backfill: 1, seconds: null };
  let seconds = null;
  if (plan.window_seconds) {
    const candleSeconds = config.candle_seconds ?? defaults.candle_seconds;
    seconds = config.window_seconds ?? (plan.candles ? candleSeconds * plan.candles : null);
  }
  if (seconds) return { backfill: cap(SECONDS_WINDOW_BACKFILL), seconds };
  const points = plan.window_points ? (config.window_points ?? plan.points) : plan.points;
  return { backfill: cap(points), seconds: null };
}
