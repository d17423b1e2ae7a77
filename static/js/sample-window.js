// The last N samples of a stream in seq order, and their shape as chart
// columns. No DOM, so the rules about holes and pauses are tested under node.

// Samples may arrive in bursts, so only a silence this long, and this many
// times the stream's average spacing, counts as a pause.
const PAUSE_MIN_MS = 2000;
const PAUSE_INTERVALS = 5;

export class SampleWindow {
  #fields;
  #capacity;
  #maxAgeMs;
  // Sorted by seq; a late sample that fills a hole is slotted in place.
  #rows = [];
  #numericFields = new Set();
  #extents = false;

  /**
   * Keep the latest `capacity` samples of `fields` ([{name, unit}]), and with
   * `maxAgeMs` only those that are at most that much older than the newest.
   */
  constructor(fields, capacity, { maxAgeMs = null } = {}) {
    this.#fields = fields;
    this.#capacity = Math.max(2, capacity);
    this.#maxAgeMs = maxAgeMs;
  }

  get size() {
    return this.#rows.length;
  }

  /** Whether some row stands for a bucket of samples (its min and max beside its mean). */
  get hasExtents() {
    return this.#extents;
  }

  /** Whether a held sample is flagged as an anomaly. */
  get hasAnomalies() {
    return this.#rows.some((row) => row.anomaly);
  }

  /** Return the oldest and newest held samples' t and seq, {from, to, firstSeq, lastSeq}, or null. */
  span() {
    const first = this.#rows[0];
    const last = this.#rows.at(-1);
    if (!first) return null;
    return { from: first.t, to: last.t, firstSeq: first.seq, lastSeq: last.seq, buckets: this.#extents };
  }

  /** Return the indexes of the fields that have carried a number, in field order. */
  numericFields() {
    return [...this.#numericFields].sort((a, b) => a - b);
  }

  clear() {
    this.#rows = [];
    this.#extents = false;
  }

  /** Add `samples`; return whether a field carried a number for the first time. */
  push(samples) {
    let newNumericField = false;
    for (const sample of samples) {
      const row = this.#row(sample);
      if (!row) continue;
      newNumericField = this.#noteNumbers(row) || newNumericField;
      this.#insert(row);
    }
    this.#trim();
    return newNumericField;
  }

  /**
   * Add samples older than any held (history read after the live backfill);
   * those not older are dropped. Return whether a field is newly numeric.
   */
  prepend(samples) {
    const oldest = this.#rows[0]?.t ?? Infinity;
    const rows = samples
      .map((sample) => this.#row(sample))
      .filter((row) => row && row.t < oldest)
      .sort((a, b) => a.t - b.t);
    let newNumericField = false;
    for (const row of rows) newNumericField = this.#noteNumbers(row) || newNumericField;
    this.#rows.unshift(...rows);
    this.#trim();
    return newNumericField;
  }

  #row(sample) {
    if (!sample || typeof sample.t !== "number") return null;
    const values = this.#fields.map((field) => {
      const value = sample.values?.[field.name];
      return typeof value === "number" && Number.isFinite(value) ? value : null;
    });
    const row = {
      seq: Number.isSafeInteger(sample.seq) ? sample.seq : null,
      t: sample.t,
      values,
      anomaly: Array.isArray(sample.flags) && sample.flags.includes("anomaly"),
      // A bucket's flagged samples; a raw sample is one.
      anomalyCount: sample.flagCounts?.anomaly ?? 1,
      low: null,
      high: null,
    };
    if (sample.min || sample.max) {
      // A bucket of the history API: its extent, so no spike is averaged away.
      const extent = (bound) => this.#fields.map((field, index) => (typeof bound?.[field.name] === "number" ? bound[field.name] : values[index]));
      row.low = extent(sample.min);
      row.high = extent(sample.max);
      this.#extents = true;
    }
    return row;
  }

  #noteNumbers(row) {
    let added = false;
    row.values.forEach((value, index) => {
      if (value !== null && !this.#numericFields.has(index)) {
        this.#numericFields.add(index);
        added = true;
      }
    });
    return added;
  }

  #trim() {
    const rows = this.#rows;
    if (rows.length > this.#capacity) rows.splice(0, rows.length - this.#capacity);
    if (this.#maxAgeMs !== null && rows.length) {
      const oldest = rows.at(-1).t - this.#maxAgeMs;
      let drop = 0;
      while (drop < rows.length && rows[drop].t < oldest) drop += 1;
      if (drop) rows.splice(0, drop);
    }
  }

  /** Return the newest value of each of `fieldIndexes` (null where none is held). */
  latestValues(fieldIndexes) {
    return fieldIndexes.map((index) => {
      for (let row = this.#rows.length - 1; row >= 0; row -= 1) {
        const value = this.#rows[row].values[index];
        if (value !== null) return value;
      }
      return null;
    });
  }

  /** Return the time of the newest sample, or null. */
  get latestT() {
    return this.#rows.at(-1)?.t ?? null;
  }

  /**
   * Return uPlot columns for `fieldIndexes`: [x seconds, ...y] and, with
   * `extents`, [...lows, ...highs] after them (a plain sample's value stands for
   * both); the column indexes of anomalous samples, and for each the value per
   * field to ring (a bucket's extreme furthest from its mean) and how many
   * flagged samples it stands for. A null point between two neighbours breaks
   * the line rather than drawing across data that does not exist: a seq jump
   * nobody could fill, or a pause (the source was stopped) far longer than the
   * stream's usual pace.
   */
  columns(fieldIndexes, { extents = false } = {}) {
    const xs = [];
    const ys = fieldIndexes.map(() => []);
    const lows = extents ? fieldIndexes.map(() => []) : [];
    const highs = extents ? fieldIndexes.map(() => []) : [];
    const anomalies = [];
    const anomalyValues = [];
    const anomalyCounts = [];
    const pause = this.#pauseThreshold();
    let previous = null;
    for (const row of this.#rows) {
      const hole = previous?.seq != null && row.seq !== null && row.seq > previous.seq + 1;
      if (previous && (hole || row.t - previous.t > pause)) {
        xs.push((previous.t + row.t) / 2000);
        for (const column of [...ys, ...lows, ...highs]) column.push(null);
      }
      if (row.anomaly) {
        anomalies.push(xs.length);
        anomalyValues.push(fieldIndexes.map((fieldIndex) => ringValue(row, fieldIndex)));
        anomalyCounts.push(row.anomalyCount);
      }
      xs.push(row.t / 1000);
      fieldIndexes.forEach((fieldIndex, column) => {
        const value = row.values[fieldIndex];
        ys[column].push(value);
        if (!extents) return;
        lows[column].push(row.low ? row.low[fieldIndex] : value);
        highs[column].push(row.high ? row.high[fieldIndex] : value);
      });
      previous = row;
    }
    return { data: [xs, ...ys, ...lows, ...highs], anomalies, anomalyValues, anomalyCounts };
  }

  #insert(row) {
    const rows = this.#rows;
    const last = rows.at(-1);
    if (!last || row.seq === null || last.seq === null || row.seq > last.seq) {
      rows.push(row);
      return;
    }
    if (rows.length >= this.#capacity && row.seq < rows[0].seq) return;
    let low = 0;
    let high = rows.length;
    while (low < high) {
      const middle = (low + high) >> 1;
      if (rows[middle].seq < row.seq) low = middle + 1;
      else high = middle;
    }
    if (rows[low]?.seq !== row.seq) rows.splice(low, 0, row);
  }

  #pauseThreshold() {
    const rows = this.#rows;
    if (rows.length < 2) return Infinity;
    const averageInterval = (rows.at(-1).t - rows[0].t) / (rows.length - 1);
    return Math.max(PAUSE_MIN_MS, PAUSE_INTERVALS * averageInterval);
  }
}

// A flagged bucket is ringed at its extreme furthest from the mean: that is
// where the flagged sample lies (an anomaly is a departure from the usual).
function ringValue(row, fieldIndex) {
  const value = row.values[fieldIndex];
  if (!row.low || value === null) return value;
  const low = row.low[fieldIndex];
  const high = row.high[fieldIndex];
  return high - value >= value - low ? high : low;
}
