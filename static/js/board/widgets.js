// The widgets of the dashboard: their tiles, their instances and what feeds
// them. Live, they are fed by the stream hub; for a past range or a playback
// they are made anew and fed by whoever loaded that range.

import { widgetPlan } from "../data/plans.js";
import { createWidget, historyFill } from "../widgets/index.js";

/** Return the widget kinds the page was sent: kind → its row of the server's table. */
export function pageKinds(doc = globalThis.document) {
  const data = doc?.getElementById("board-data");
  return new Map(Object.entries(data ? (JSON.parse(data.textContent).kinds ?? {}) : {}));
}

/**
 * Return the config a widget module gets: the saved config with fields resolved
 * to {name, unit}. `spec` is the kind's row of the table.
 */
export function widgetConfig(widget, stream, spec, extra = {}) {
  const known = new Map((stream?.fields ?? []).map((field) => [field.name, field]));
  let names = widget.config?.fields ?? [];
  // Kinds that show fields of any type list every field when none was chosen.
  if (!names.length && spec?.any_field) names = [...known.keys()];
  const fields = names.map((name) => known.get(name) ?? { name, unit: "" });
  return { ...widget.config, fields, title: widget.title || stream?.title || widget.stream, legend: true, ...extra };
}

export class WidgetHost {
  #grid;
  #hub;
  #streams;
  #maxBackfill;
  #kinds;
  // id → {widget (saved data), instance, detach, body}
  #mounted = new Map();
  #mode = { mode: "live" };

  /** `kinds`: kind → its row of the server's table (by default, the one the page was sent). */
  constructor({ grid, hub, streams, maxBackfill, kinds = pageKinds() }) {
    this.#grid = grid;
    this.#hub = hub;
    this.#streams = streams;
    this.#maxBackfill = maxBackfill;
    this.#kinds = kinds;
  }

  get mode() {
    return this.#mode;
  }

  get widgets() {
    return [...this.#mounted.values()].map(({ widget }) => widget);
  }

  /** Return the slugs of the streams the widgets show. */
  streamSlugs() {
    return [...new Set(this.widgets.map((widget) => widget.stream))];
  }

  stream(slug) {
    return this.#streams.get(slug);
  }

  add(widget, stream) {
    if (stream) this.#streams.set(stream.slug, stream);
    const body = this.#grid.addTile(widget, this.#streams.get(widget.stream));
    const entry = { widget, instance: null, detach: null, body };
    this.#mounted.set(widget.id, entry);
    this.#start(entry);
    this.#markRunning(widget.stream);
  }

  /** Show the saved `widget` anew (its kind, stream or config changed). */
  update(widget, stream) {
    const entry = this.#mounted.get(widget.id);
    if (!entry) return this.add(widget, stream);
    if (stream) this.#streams.set(stream.slug, stream);
    const previousStream = entry.widget.stream;
    this.#stop(entry);
    entry.widget = widget;
    entry.body = this.#grid.updateTile(widget, this.#streams.get(widget.stream)) ?? entry.body;
    this.#start(entry);
    this.#markRunning(widget.stream);
    if (previousStream !== widget.stream) this.#releaseUnused(previousStream);
  }

  remove(id) {
    const entry = this.#mounted.get(id);
    if (!entry) return;
    this.#stop(entry);
    this.#mounted.delete(id);
    this.#grid.removeTile(id);
    this.#releaseUnused(entry.widget.stream);
  }

  /**
   * Switch every widget to `mode`: {mode: "live"}, {mode: "history", range,
   * samples: Map slug → {series, tail}} or {mode: "playback"} (fed by `push`).
   * In history, kinds that draw reduced history get `series` (buckets, or the
   * raw samples when the range is short), the others `tail` (the newest raw
   * samples of the range, every field).
   */
  setMode(mode) {
    this.#mode = mode;
    for (const entry of this.#mounted.values()) {
      this.#stop(entry);
      this.#start(entry);
    }
  }

  /** Give the widgets of `slug` samples (playback). */
  push(slug, samples) {
    if (!samples.length) return;
    for (const entry of this.#mounted.values()) {
      if (entry.widget.stream === slug) entry.instance?.push(samples);
    }
  }

  /** Return each widget with what it shows: [{widget, span: {from, to, firstSeq, lastSeq} | null}]. */
  spans() {
    return [...this.#mounted.values()].map(({ widget, instance }) => ({ widget, span: instance?.span?.() ?? null }));
  }

  clear() {
    if (this.#mode.mode === "live") this.#hub.clear();
    else for (const entry of this.#mounted.values()) entry.instance?.clear();
  }

  /** Show a stream's running state on the tiles that use it. */
  setRunning(slug, running) {
    const stream = this.#streams.get(slug);
    if (stream) stream.running = running;
    this.#markRunning(slug);
  }

  #markRunning(slug) {
    const running = this.#streams.get(slug)?.running;
    for (const entry of this.#mounted.values()) {
      if (entry.widget.stream !== slug) continue;
      const dot = this.#grid.tile(entry.widget.id)?.querySelector(".widget-running");
      if (!dot) continue;
      dot.dataset.running = String(Boolean(running));
      dot.parentElement.title = running ? "Source running" : "Source stopped";
    }
  }

  #start(entry) {
    const { widget } = entry;
    const stream = this.#streams.get(widget.stream);
    const { mode } = this.#mode;
    const spec = this.#kinds.get(widget.kind);
    const extra = mode === "history" ? { range: this.#mode.range } : {};
    entry.instance = createWidget(widget.kind, entry.body, widgetConfig(widget, stream, spec, extra));
    if (mode === "live") {
      const plan = widgetPlan(spec, widget.config, this.#maxBackfill);
      entry.detach = this.#hub.attach(widget.stream, entry.instance, plan);
    } else if (mode === "history") {
      const loaded = this.#mode.samples.get(widget.stream);
      const samples = (historyFill(widget.kind) === "buckets" ? loaded?.series : loaded?.tail) ?? [];
      if (samples.length) entry.instance.push(samples);
    }
  }

  #stop(entry) {
    entry.detach?.();
    entry.detach = null;
    entry.instance?.destroy();
    entry.instance = null;
  }

  #releaseUnused(slug) {
    if (!this.widgets.some((widget) => widget.stream === slug)) this.#hub.release(slug);
  }
}
