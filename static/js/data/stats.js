// The figures of a stat card over a window of samples: latest, average, min,
// max, standard deviation, and the rate of samples per second.

/**
 * The values of one field over the last `points` samples or `seconds`.
 * Entries from the history API stand for a whole bucket: they carry its
 * count, min and max, so a window mixing buckets and samples stays exact.
 */
export class StatWindow {
  #points;
  #spanMs;
  #entries = [];

  constructor({ points = null, seconds = null } = {}) {
    this.#points = points ?? (seconds ? null : 600);
    this.#spanMs = seconds ? seconds * 1000 : null;
  }

  get size() {
    return this.#entries.length;
  }

  clear() {
    this.#entries = [];
  }

  /** Add `{t, value, count?, min?, max?}`; entries older than the last are slotted in place. */
  add(entry) {
    if (typeof entry.value !== "number" || !Number.isFinite(entry.value)) return;
    const item = {
      t: entry.t,
      seq: entry.seq ?? null,
      value: entry.value,
      count: entry.count ?? 1,
      min: entry.min ?? entry.value,
      max: entry.max ?? entry.value,
    };
    const entries = this.#entries;
    if (!entries.length || item.t >= entries.at(-1).t) entries.push(item);
    else entries.splice(this.#indexAfter(item.t), 0, item);
    this.#trim();
  }

  #indexAfter(t) {
    let low = 0;
    let high = this.#entries.length;
    while (low < high) {
      const middle = (low + high) >> 1;
      if (this.#entries[middle].t <= t) low = middle + 1;
      else high = middle;
    }
    return low;
  }

  #trim() {
    const entries = this.#entries;
    if (this.#points !== null && entries.length > this.#points) entries.splice(0, entries.length - this.#points);
    if (this.#spanMs !== null && entries.length) {
      const oldest = entries.at(-1).t - this.#spanMs;
      let drop = 0;
      while (drop < entries.length && entries[drop].t < oldest) drop += 1;
      if (drop) entries.splice(0, drop);
    }
  }

  /** Return the oldest and newest entries' t and seq, {from, to, firstSeq, lastSeq}, or null. */
  span() {
    const [first, last] = [this.#entries[0], this.#entries.at(-1)];
    return first ? { from: first.t, to: last.t, firstSeq: first.seq, lastSeq: last.seq } : null;
  }

  /** Return the figure `kind` ("latest", "average", "min", "max", "stddev", "rate"), or null without data. */
  compute(kind) {
    const entries = this.#entries;
    if (!entries.length) return null;
    switch (kind) {
      case "average": {
        let total = 0;
        let count = 0;
        for (const entry of entries) {
          total += entry.value * entry.count;
          count += entry.count;
        }
        return total / count;
      }
      case "min":
        return entries.reduce((low, entry) => Math.min(low, entry.min), Infinity);
      case "max":
        return entries.reduce((high, entry) => Math.max(high, entry.max), -Infinity);
      case "stddev":
        return standardDeviation(entries);
      case "rate":
        return rate(entries, this.#spanMs);
      default:
        return entries.at(-1).value;
    }
  }
}

// The population standard deviation of the values, each entry counted as
// many times as the samples it stands for (a bucket's spread inside itself is
// not known, so a window of buckets reads a little low). Welford's update
// keeps it exact for large values with small spread.
function standardDeviation(entries) {
  let count = 0;
  let mean = 0;
  let squares = 0;
  for (const entry of entries) {
    const before = mean;
    count += entry.count;
    mean += (entry.count * (entry.value - before)) / count;
    squares += entry.count * (entry.value - before) * (entry.value - mean);
  }
  return count ? Math.sqrt(Math.max(0, squares / count)) : null;
}

// Samples per second: the samples after the first, over the time they took.
// A window in seconds that is full uses its own span, so a burst does not read as a flood.
function rate(entries, spanMs) {
  if (entries.length < 2) return 0;
  const first = entries[0];
  const last = entries.at(-1);
  const elapsed = last.t - first.t;
  if (elapsed <= 0) return 0;
  let count = -first.count;
  for (const entry of entries) count += entry.count;
  return (count * 1000) / elapsed;
}
