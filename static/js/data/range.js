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

/** Return a `datetime-local` input value for `ms`, in local time. */
export function toLocalInput(ms) {
  const date = new Date(ms - new Date(ms).getTimezoneOffset() * 60_000);
  return date.toISOString().slice(0, 19);
}

/** Return ms for a `datetime-local` input value (local time), or NaN. */
export function fromLocalInput(value) {
  return value ? new Date(value).getTime() : Number.NaN;
}
