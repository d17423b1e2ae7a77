// Filters of feeds, tables and trades: {text?, field?, min?, max?, side?},
// saved in a widget's config and carried in a page's URL as
// `f<widget id>=text:Sales,field:value,min:10,max:90,side:buy`, so a shared
// view keeps what its viewer narrowed it to. No DOM here.

const KEYS = ["text", "field", "min", "max", "side"];

/** Return whether `filter` keeps anything out. */
export function isFiltering(filter) {
  return Boolean(filter && KEYS.some((key) => filter[key] !== undefined && filter[key] !== ""));
}

/**
 * Return a test of samples for `filter`: `text` keeps samples with a text
 * value equal to it (any case), `field` with `min`/`max` those whose value of
 * the field lies in the range (a trade's size for a trade field), `side`
 * those whose trade is on that side.
 */
export function sampleTest(filter) {
  if (!isFiltering(filter)) return () => true;
  const text = filter.text ? String(filter.text).toLowerCase() : null;
  const low = typeof filter.min === "number" ? filter.min : -Infinity;
  const high = typeof filter.max === "number" ? filter.max : Infinity;
  const ranged = filter.field && (low > -Infinity || high < Infinity);
  return (sample) => {
    const values = sample?.values ?? {};
    if (text && !Object.values(values).some((value) => typeof value === "string" && value.toLowerCase() === text)) return false;
    if (ranged) {
      const value = numberOf(values[filter.field]);
      if (value === null || value < low || value > high) return false;
    }
    if (filter.side && !Object.values(values).some((value) => value?.side === filter.side)) return false;
    return true;
  };
}

function numberOf(value) {
  if (typeof value === "number") return value;
  if (typeof value?.size === "number") return value.size;
  return null;
}

/** Return the filter in words, for the widget's note: "label Sales · value 10–90". */
export function describeFilter(filter) {
  if (!isFiltering(filter)) return "";
  const parts = [];
  if (filter.text) parts.push(`“${filter.text}”`);
  if (filter.field && (filter.min !== undefined || filter.max !== undefined)) {
    const name = filter.field === "trade" ? "size" : filter.field;
    parts.push(`${name} ${filter.min ?? "…"}–${filter.max ?? "…"}`);
  }
  if (filter.side) parts.push(`${filter.side}s`);
  return parts.join(" · ");
}

/** Return the filter of widget `id` in a URL's query (`search`), or null when it has none. */
export function filterFromQuery(search, id) {
  const text = new URLSearchParams(search).get(`f${id}`);
  if (text === null) return null;
  const filter = {};
  for (const part of text.split(",")) {
    const [key, ...rest] = part.split(":");
    const value = rest.join(":").trim();
    if (!KEYS.includes(key) || !value) continue;
    if (key === "min" || key === "max") {
      const number = Number(value);
      if (Number.isFinite(number)) filter[key] = number;
    } else {
      filter[key] = value.slice(0, 80);
    }
  }
  return filter;
}

/** Return `search` with widget `id`'s filter set (removed when it keeps everything). */
export function queryWithFilter(search, id, filter) {
  const params = new URLSearchParams(search);
  if (isFiltering(filter)) {
    const text = KEYS.filter((key) => filter[key] !== undefined && filter[key] !== "")
      .map((key) => `${key}:${filter[key]}`)
      .join(",");
    params.set(`f${id}`, text);
  } else {
    params.delete(`f${id}`);
  }
  const query = params.toString();
  return query ? `?${query}` : "";
}
