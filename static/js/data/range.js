// Time ranges of the dashboard: live, the last 5 minutes / hour / day, or a
// custom span; kept in the page URL so a reload shows the same range.

export const PRESETS = Object.freeze({ "5m": 5 * 60_000, "1h": 3_600_000, "24h": 86_400_000 });
const DEFAULT_LIVE_SPAN_MS = 5 * 60_000;

/** Return {from, to} in ms for a choice, or null for live. */
export function resolveRange(choice, now, custom = {}) {
  if (choice in PRESETS) return { from: now - PRESETS[choice], to: now };
  if (choice === "custom") {
    const { from, to } = custom;
    if (Number.isFinite(from) && Number.isFinite(to) && from < to) return { from, to };
  }
  return null;
}

/** Read the range from a query string: `?range=1h`, or `?from=<ms>&to=<ms>`. */
export function rangeFromQuery(search) {
  const params = new URLSearchParams(search);
  const from = Number(params.get("from"));
  const to = Number(params.get("to"));
  if (params.has("from") && params.has("to") && Number.isFinite(from) && Number.isFinite(to) && from < to) {
    return { choice: "custom", from, to };
  }
  const choice = params.get("range");
  return { choice: choice in PRESETS ? choice : "live" };
}

/** Return `search` with the range written in (and nothing for live). */
export function rangeToQuery(search, choice, range) {
  const params = new URLSearchParams(search);
  for (const name of ["range", "from", "to"]) params.delete(name);
  if (choice === "custom" && range) {
    params.set("from", String(range.from));
    params.set("to", String(range.to));
  } else if (choice in PRESETS) {
    params.set("range", choice);
  }
  const text = params.toString();
  return text ? `?${text}` : "";
}

/**
 * Return the span live widgets show, for exports of "what is visible": the
 * longest window in seconds among them, else five minutes.
 */
export function liveSpanMs(configs) {
  const seconds = configs.map((config) => config?.window_seconds ?? 0).filter((value) => value > 0);
  return seconds.length ? Math.max(...seconds) * 1000 : DEFAULT_LIVE_SPAN_MS;
}

/** Return the buckets worth asking for: about one per two pixels of chart, within the API's limits. */
export function pointsFor(widthPx) {
  return Math.max(100, Math.min(2000, Math.round((widthPx || 800) / 2)));
}

/**
 * Return the range inputs' text for `ms`: "2026-12-07 18:30:05", local time,
 * 24-hour whatever the browser's locale (its own date inputs follow that).
 */
export function toLocalInput(ms) {
  const date = new Date(ms - new Date(ms).getTimezoneOffset() * 60_000);
  return date.toISOString().slice(0, 19).replace("T", " ");
}

const LOCAL_INPUT = /^\s*(\d{4})-(\d{1,2})-(\d{1,2})[ T](\d{1,2}):(\d{2})(?::(\d{2}))?\s*$/;

/** Return ms for a range input's text (local time; seconds optional), or NaN when it names no such moment. */
export function fromLocalInput(value) {
  const parts = LOCAL_INPUT.exec(value ?? "");
  if (!parts) return Number.NaN;
  const [year, month, day, hours, minutes, seconds = 0] = parts.slice(1).map((part) => Number(part ?? 0));
  const date = new Date(year, month - 1, day, hours, minutes, seconds);
  // Date rolls 2026-02-31 over into March; a moment that does not exist is refused.
  const same = date.getFullYear() === year && date.getMonth() === month - 1 && date.getDate() === day && date.getHours() === hours && date.getMinutes() === minutes;
  return same && seconds < 60 ? date.getTime() : Number.NaN;
}
