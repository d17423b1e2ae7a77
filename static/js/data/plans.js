// What each widget kind needs when it starts: how many stored samples the
// socket should send (backfill), and how many seconds its window spans, so the
// part older than that backfill can come from the history API.

// A window in seconds has no sample count; this many recent samples cover it
// for slow streams, and the history API fills in the rest for fast ones.
export const SECONDS_WINDOW_BACKFILL = 2000;
const DEFAULT_POINTS = { timeseries: 600, stat: 600, feed: 50, table: 20, trades: 30 };
const CANDLES_SHOWN = 60;

/** Return {backfill, seconds} for a widget of `kind` with `config`. */
export function widgetPlan(kind, config = {}, maxBackfill = 10_000) {
  const cap = (count) => Math.max(0, Math.min(maxBackfill, Math.round(count)));
  const points = config.window_points;
  const seconds = config.window_seconds;
  switch (kind) {
    case "timeseries":
    case "stat":
      if (kind === "stat" && (config.stat ?? "latest") === "latest") return { backfill: 1, seconds: null };
      if (seconds) return { backfill: cap(SECONDS_WINDOW_BACKFILL), seconds };
      return { backfill: cap(points ?? DEFAULT_POINTS[kind]), seconds: null };
    case "feed":
    case "table":
    case "trades":
      return { backfill: cap(points ?? DEFAULT_POINTS[kind]), seconds: null };
    case "candlestick":
      return {
        backfill: cap(SECONDS_WINDOW_BACKFILL),
        seconds: seconds ?? (config.candle_seconds ?? 5) * CANDLES_SHOWN,
      };
    case "gauge":
    case "orderbook":
      return { backfill: 1, seconds: null };
    default:
      return { backfill: 0, seconds: null };
  }
}
