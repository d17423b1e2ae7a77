// The series of one chart from several streams: a SampleWindow per stream,
// joined on time into one set of chart columns. Where one stream has no
// sample at another's time the column holds `undefined`, which the chart
// draws across; a hole or pause within a stream stays a `null`, a break.
// No DOM, so node tests it.

import { SampleWindow } from "./sample-window.js";

export class MergedWindow {
  #primary;
  // slug → {window, globals: [global field index per local field]}
  #groups = new Map();

  /**
   * `fields`: [{name, unit, stream?}] — a field without `stream` belongs to
   * `primary`. `capacity` and `options` are each stream's SampleWindow's.
   */
  constructor(fields, capacity, options = {}, primary = "") {
    this.#primary = primary;
    fields.forEach((field, index) => {
      const slug = field.stream ?? primary;
      if (!this.#groups.has(slug)) this.#groups.set(slug, { fields: [], globals: [] });
      const group = this.#groups.get(slug);
      group.fields.push({ ...field, name: field.field ?? field.name });
      group.globals.push(index);
    });
    if (!this.#groups.size) this.#groups.set(primary, { fields: [], globals: [] });
    for (const group of this.#groups.values()) group.window = new SampleWindow(group.fields, capacity, options);
  }

  /** The streams whose samples it takes. */
  get streams() {
    return [...this.#groups.keys()];
  }

  get size() {
    let size = 0;
    for (const group of this.#groups.values()) size += group.window.size;
    return size;
  }

  get hasExtents() {
    return [...this.#groups.values()].some((group) => group.window.hasExtents);
  }

  get hasAnomalies() {
    return [...this.#groups.values()].some((group) => group.window.hasAnomalies);
  }

  /**
   * Return what it holds: {from, to} over every stream, the first stream's
   * seqs, and `streams` (slug → that stream's own span), which the widget's
   * export reads; null while nothing is held.
   */
  span() {
    const streams = {};
    for (const [slug, group] of this.#groups) {
      const span = group.window.span();
      if (span) streams[slug] = span;
    }
    const parts = Object.values(streams);
    if (!parts.length) return null;
    const primary = streams[this.#primary];
    return {
      from: Math.min(...parts.map((part) => part.from)),
      to: Math.max(...parts.map((part) => part.to)),
      firstSeq: primary?.firstSeq ?? null,
      lastSeq: primary?.lastSeq ?? null,
      buckets: parts.some((part) => part.buckets),
      streams,
    };
  }

  numericFields() {
    const found = [];
    for (const group of this.#groups.values()) {
      for (const local of group.window.numericFields()) found.push(group.globals[local]);
    }
    return found.sort((a, b) => a - b);
  }

  clear() {
    for (const group of this.#groups.values()) group.window.clear();
  }

  /** Add samples of stream `slug` (the first stream when none is named). */
  push(samples, slug = this.#primary) {
    return this.#group(slug)?.window.push(samples) ?? false;
  }

  prepend(samples, slug = this.#primary) {
    return this.#group(slug)?.window.prepend(samples) ?? false;
  }

  latestValues(fieldIndexes) {
    return fieldIndexes.map((index) => {
      const [group, local] = this.#locate(index);
      return group ? group.window.latestValues([local])[0] : null;
    });
  }

  /** As SampleWindow.columns, for fields of any of the streams, joined on time. */
  columns(fieldIndexes, { extents = false } = {}) {
    const parts = [];
    for (const group of this.#groups.values()) {
      const wanted = fieldIndexes.map((index) => group.globals.indexOf(index));
      const locals = wanted.filter((local) => local >= 0);
      if (!locals.length) continue;
      parts.push({ wanted, ...group.window.columns(locals, { extents }) });
    }
    if (parts.length === 1 && parts[0].wanted.every((local) => local >= 0)) return stripWanted(parts[0]);
    return join(parts, fieldIndexes.length, extents);
  }

  #group(slug) {
    return this.#groups.get(slug);
  }

  #locate(index) {
    for (const group of this.#groups.values()) {
      const local = group.globals.indexOf(index);
      if (local >= 0) return [group, local];
    }
    return [null, -1];
  }
}

function stripWanted({ data, anomalies, anomalyValues, anomalyCounts }) {
  return { data, anomalies, anomalyValues, anomalyCounts };
}

// Join each stream's columns on x. `wanted[i]` is the local field of the
// i-th requested field in that part, or -1 when it is another stream's.
function join(parts, count, extents) {
  const xs = [...new Set(parts.flatMap((part) => part.data[0]))].sort((a, b) => a - b);
  const at = new Map(xs.map((x, index) => [x, index]));
  const blocks = extents ? 3 : 1;
  const columns = Array.from({ length: count * blocks }, () => new Array(xs.length).fill(undefined));
  const anomalyAt = new Map();
  const countAt = new Map();
  for (const part of parts) {
    const positions = part.data[0].map((x) => at.get(x));
    const localCount = part.wanted.filter((local) => local >= 0).length;
    let column = 0;
    part.wanted.forEach((local, requested) => {
      if (local < 0) return;
      for (let block = 0; block < blocks; block += 1) {
        const source = part.data[1 + block * localCount + column];
        const target = columns[block * count + requested];
        positions.forEach((position, row) => {
          target[position] = source[row];
        });
      }
      part.anomalies.forEach((row, ring) => {
        const position = positions[row];
        if (!anomalyAt.has(position)) anomalyAt.set(position, new Array(count).fill(null));
        anomalyAt.get(position)[requested] = part.anomalyValues[ring][column];
        if (column === 0) countAt.set(position, (countAt.get(position) ?? 0) + (part.anomalyCounts?.[ring] ?? 1));
      });
      column += 1;
    });
  }
  const anomalies = [...anomalyAt.keys()].sort((a, b) => a - b);
  return {
    data: [xs, ...columns],
    anomalies,
    anomalyValues: anomalies.map((position) => anomalyAt.get(position)),
    anomalyCounts: anomalies.map((position) => countAt.get(position) ?? 1),
  };
}
