// The widgets of the dashboard: their tiles, their instances and what feeds
// them. Live, they are fed by the stream hub; for a past range or a playback
// they are made anew and fed by whoever loaded that range.

import { filterFromQuery } from "../data/filters.js";
import { widgetPlan } from "../data/plans.js";
import { createWidget, historyFill } from "../widgets/index.js";

/** Return the widget kinds the page was sent: kind → its row of the server's table. */
export function pageKinds(doc = globalThis.document) {
  const data = doc?.getElementById("board-data");
  return new Map(Object.entries(data ? (JSON.parse(data.textContent).kinds ?? {}) : {}));
}

/** Return the slugs of the streams a widget shows: its own, then its further series'. */
export function widgetStreams(widget) {
  return [...new Set([widget.stream, ...(widget.series ?? []).map((series) => series.stream)])];
}

/**
 * Return the config a widget module gets: the saved config with fields resolved
 * to {name, unit}, then one field per further series ({name, label, unit,
 * stream, field, color, axis}). `spec` is the kind's row of the table;
 * `streams` (slug → stream) describes the series' streams.
 */
export function widgetConfig(widget, stream, spec, extra = {}, streams = new Map()) {
  const known = new Map((stream?.fields ?? []).map((field) => [field.name, field]));
  let names = widget.config?.fields ?? [];
  // Kinds that show fields of any type list every field when none was chosen.
  if (!names.length && spec?.any_field) names = [...known.keys()];
  const series = widget.series ?? [];
  // Beside series of other streams, a field is named with its stream.
  const own = series.length ? `${stream?.title ?? widget.stream} · ` : "";
  const fields = names.map((name) => ({ ...(known.get(name) ?? { name, unit: "" }), ...(own ? { label: own + name } : {}) }));
  for (const item of series) {
    const source = streams.get(item.stream);
    const unit = source?.fields?.find((field) => field.name === item.field)?.unit ?? "";
    const label = `${source?.title ?? item.stream} · ${item.field}`;
    fields.push({ name: `${item.stream}|${item.field}`, label, unit, stream: item.stream, field: item.field, color: item.color || null, axis: item.axis });
  }
  return { ...widget.config, fields, stream: widget.stream, title: widget.title || stream?.title || widget.stream, legend: true, ...extra };
}

export class WidgetHost {
  #grid;
  #hub;
  #streams;
  #maxBackfill;
  #kinds;
  // id → {widget (saved data), config (what its module got), instance, detach, body,
  //       live: the live widget kept while a past range shows, or null}
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
    return [...new Set(this.widgets.flatMap(widgetStreams))];
  }

  stream(slug) {
    return this.#streams.get(slug);
  }

  /** `stream`: the widget's stream; `streams`: every stream it shows (as the editor sends them). */
  add(widget, stream, streams = []) {
    for (const item of [stream, ...streams]) if (item) this.#streams.set(item.slug, item);
    const body = this.#grid.addTile(widget, this.#streams.get(widget.stream));
    const entry = { widget, instance: null, detach: null, body };
    this.#mounted.set(widget.id, entry);
    this.#start(entry);
    this.#markRunning(widget.stream);
  }

  /** Show the saved `widget` anew (its kind, stream or config changed). */
  update(widget, stream, streams = []) {
    const entry = this.#mounted.get(widget.id);
    if (!entry) return this.add(widget, stream, streams);
    for (const item of [stream, ...streams]) if (item) this.#streams.set(item.slug, item);
    const previousStreams = widgetStreams(entry.widget);
    this.#dropLive(entry);
    this.#stop(entry);
    entry.widget = widget;
    entry.body = this.#grid.updateTile(widget, this.#streams.get(widget.stream)) ?? entry.body;
    this.#start(entry);
    this.#markRunning(widget.stream);
    for (const slug of previousStreams) this.#releaseUnused(slug);
  }

  remove(id) {
    const entry = this.#mounted.get(id);
    if (!entry) return;
    this.#dropLive(entry);
    this.#stop(entry);
    this.#mounted.delete(id);
    this.#grid.removeTile(id);
    for (const slug of widgetStreams(entry.widget)) this.#releaseUnused(slug);
  }

  /**
   * Switch every widget to `mode`: {mode: "live"}, {mode: "history", range,
   * samples: Map slug → {series, tail}} or {mode: "playback"} (fed by `push`).
   * In history, kinds that draw reduced history get `series` (buckets, or the
   * raw samples when the range is short), the others `tail` (the newest raw
   * samples of the range, every field).
   */
  setMode(mode) {
    const wasLive = this.#mode.mode === "live";
    this.#mode = mode;
    for (const entry of this.#mounted.values()) {
      if (wasLive && mode.mode !== "live") this.#keepLive(entry);
      else this.#stop(entry);
      if (mode.mode === "live" && entry.live) this.#resumeLive(entry);
      else this.#start(entry);
    }
  }

  // Leaving live: the live widget stays fed, out of the page (a counter goes on
  // counting, a sparkline stays full), and the past range is drawn in its place.
  #keepLive(entry) {
    entry.live = { instance: entry.instance, detach: entry.detach, body: entry.body, config: entry.config };
    const body = entry.body.cloneNode(false);
    entry.body.replaceWith(body);
    Object.assign(entry, { instance: null, detach: null, body });
  }

  // Back to live: the kept live widget takes its place again.
  #resumeLive(entry) {
    entry.body.replaceWith(entry.live.body);
    Object.assign(entry, entry.live);
    entry.live = null;
    entry.instance?.resize();
  }

  #dropLive(entry) {
    if (!entry.live) return;
    entry.live.detach?.();
    entry.live.instance?.destroy();
    entry.live = null;
  }

  /** Give the widgets of `slug` samples (playback). */
  push(slug, samples) {
    if (!samples.length) return;
    for (const entry of this.#mounted.values()) {
      if (widgetStreams(entry.widget).includes(slug)) entry.instance?.push(samples, slug);
    }
  }

  /**
   * Return each widget with what it shows: [{widget, config, span}]: `config`
   * as the widget module got it (fields, filter), `span` {from, to, firstSeq,
   * lastSeq, streams?: slug → span} or null.
   */
  spans() {
    return [...this.#mounted.values()].map(({ widget, instance, config }) => ({ widget, config, span: instance?.span?.() ?? null }));
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
    // A playback runs on its own clock (at 0.5–10×): its charts move with its samples only.
    if (mode === "playback") extra.followClock = false;
    // A filter in the page's address (a shared view narrowed by its viewer) wins over the saved one.
    const chosen = filterFromQuery(globalThis.location?.search ?? "", widget.id);
    if (chosen) extra.filter = chosen;
    entry.config = widgetConfig(widget, stream, spec, extra, this.#streams);
    const instance = createWidget(widget.kind, entry.body, entry.config);
    entry.instance = instance;
    const slugs = widgetStreams(widget);
    if (mode === "live") {
      const plan = widgetPlan(spec, widget.config, this.#maxBackfill);
      // The widget's own stream feeds it as it is; each further stream names itself.
      const detach = slugs.map((slug) => this.#hub.attach(slug, slug === widget.stream ? instance : seriesFeed(instance, slug), plan));
      entry.detach = () => detach.forEach((stop) => stop());
    } else if (mode === "history") {
      for (const slug of slugs) {
        const loaded = this.#mode.samples.get(slug);
        const samples = (historyFill(widget.kind) === "buckets" ? loaded?.series : loaded?.tail) ?? [];
        if (samples.length) instance.push(samples, slug);
      }
    }
  }

  #stop(entry) {
    entry.detach?.();
    entry.detach = null;
    entry.instance?.destroy();
    entry.instance = null;
  }

  #releaseUnused(slug) {
    if (!this.streamSlugs().includes(slug)) this.#hub.release(slug);
  }
}

// What the hub feeds for a further series' stream: its samples, named.
function seriesFeed(instance, slug) {
  return {
    push: (samples) => instance.push(samples, slug),
    prepend: instance.prepend ? (samples) => instance.prepend(samples, slug) : undefined,
    clear: () => instance.clear(),
    halt: () => instance.halt?.(),
  };
}
