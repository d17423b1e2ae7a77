// Small pieces every widget uses: elements, fields, colours from the theme,
// threshold tones and the once-per-frame redraw.

import { describeFilter, sampleTest } from "../data/filters.js";
import { frames } from "../frames.js";

export { withAlpha } from "../colour.js";

export const SERIES_COLOUR_COUNT = 8;

export function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

/** Set a node's text only when it differs: an unchanged figure costs no layout or paint. */
export function setText(node, text) {
  if (node.textContent !== text) node.textContent = text;
}

/** Set an attribute only when it differs (a `data-` attribute restyles what it matches). */
export function setAttr(node, name, value) {
  if (node.getAttribute(name) !== value) node.setAttribute(name, value);
}

/**
 * The least time between two redraws of a widget that shows only text and bars
 * (and of a chart's legend): five times a second still reads as live, and each
 * frame the page draws costs style, layout, paint and a commit (at 100 ms the
 * demo dashboard's main thread was a third busier; docs/performance.md).
 */
export const TEXT_INTERVAL_MS = 200;
/** After its interval, how long such a widget waits to be drawn in a frame drawn anyway. */
export const COMPANY_WAIT_MS = 50;

/**
 * Return how long from `now` to the end of the interval: the next multiple of
 * `interval` on the clock that is at least half an interval away. Every widget
 * with the same interval then ends it at the same moment.
 */
export function untilSlot(interval, now) {
  const left = interval - (now % interval);
  return left >= interval / 2 ? left : left + interval;
}

/**
 * Return the redraw of a widget: `schedule()` asks for `render` in the next
 * frame of the page's shared loop (held while the view is paused).
 *
 * `minInterval` (ms, 0 = every frame) spaces the redraws out: after a draw,
 * further `schedule()` calls within `minInterval` only mark the widget dirty,
 * and it is drawn once after the interval, with everything that arrived
 * meanwhile — so the last update is never dropped, only delayed: in the next
 * frame drawn for another widget, or within COMPANY_WAIT_MS in one of its own.
 * Text widgets use TEXT_INTERVAL_MS: a figure that changes 60 times a second
 * cannot be read anyway, and each change costs style, layout and paint.
 * The intervals end together on the page's clock (`untilSlot`), so widgets that
 * change all the time are drawn in the same frames — each frame the page draws
 * costs it style, layout, paint and a commit however little changed.
 * `scheduler`, `timers` ({setTimeout, clearTimeout}) and `now` are for the tests.
 */
export function drawLoop(render, { minInterval = 0, scheduler = frames, timers = globalThis, now = () => globalThis.performance.now() } = {}) {
  let stopped = false;
  let cooling = null; // the timer that ends the interval after the last draw
  let dirty = false; // asked for during the interval

  const coolDown = () => {
    cooling = null;
    if (stopped || !dirty) return;
    dirty = false;
    scheduler.scheduleSoon(draw, COMPANY_WAIT_MS);
  };

  function draw() {
    if (stopped) return;
    if (minInterval > 0) {
      // Armed before rendering, so a render that asks for its next step
      // (the counter's roll) waits for the interval too.
      dirty = false;
      if (cooling !== null) timers.clearTimeout(cooling);
      cooling = timers.setTimeout(coolDown, untilSlot(minInterval, now()));
    }
    render();
  }

  return {
    schedule() {
      if (stopped) return;
      if (cooling !== null) {
        dirty = true;
        return;
      }
      scheduler.schedule(draw);
    },
    stop() {
      stopped = true;
      dirty = false;
      if (cooling !== null) timers.clearTimeout(cooling);
      cooling = null;
      scheduler.forget(draw);
    },
  };
}

/** Return a field's unit from the config's field list ([{name, unit}]). */
export function unitOf(config, name) {
  return (config.fields ?? []).find((field) => field.name === name)?.unit ?? "";
}

/** Return the first field the widget shows, as {name, unit}. */
export function firstField(config) {
  return config.fields?.[0] ?? { name: "value", unit: "" };
}

/** Return "critical", "warning" or "ok" for `value` against the config's thresholds. */
export function thresholdTone(value, thresholds = {}) {
  if (typeof value !== "number") return "ok";
  if (typeof thresholds.critical === "number" && value >= thresholds.critical) return "critical";
  if (typeof thresholds.warning === "number" && value >= thresholds.warning) return "warning";
  return "ok";
}

/** Return the theme's colours, read at draw time (a detached element has no computed style). */
export function readPalette(el) {
  const style = getComputedStyle(el);
  const read = (name, fallback) => style.getPropertyValue(name).trim() || fallback;
  const series = [];
  for (let index = 1; index <= SERIES_COLOUR_COUNT; index += 1) {
    series.push(read(`--series-${index}`, "#73bf69"));
  }
  return {
    series,
    text: read("--text", "#d8d9e0"),
    muted: read("--text-muted", "#a3a6b4"),
    axis: read("--chart-axis", "#8e8e8e"),
    grid: read("--chart-grid", "rgba(128, 128, 128, 0.15)"),
    anomaly: read("--chart-anomaly", "#f2495c"),
    anomalyFill: read("--chart-anomaly-fill", "rgba(242, 73, 92, 0.35)"),
    ok: read("--ok", "#73bf69"),
    warning: read("--warn", "#f2cc0c"),
    critical: read("--danger", "#f2495c"),
    up: read("--up", "#73bf69"),
    down: read("--down", "#f2495c"),
    font: read("--font-sans", "system-ui, sans-serif"),
  };
}

/** Redraw `callback` when the theme switches: canvases cannot follow CSS by themselves. */
export function onThemeChange(callback) {
  const observer = new MutationObserver(callback);
  observer.observe(document.documentElement, { attributes: true, attributeFilter: ["data-theme"] });
  return () => observer.disconnect();
}

/** Return `list` with `added` (oldest first) on top, newest first, at most `limit` long. */
export function newestFirst(list, added, limit) {
  const next = [...added].reverse().concat(list);
  return next.length > limit ? next.slice(0, limit) : next;
}

/**
 * Return a list's redraw for `container`: `draw(items)` shows one row per item
 * (`rowOf(item)` makes it), in that order. A row is made once per item and
 * kept; when the items are the shown ones with new ones on top and old ones
 * gone from the bottom (a newest-first list), only those rows are added and
 * removed — the page lays out and paints a new row, not the whole list again.
 * `draw.items` is the list last drawn: what the widget shows (and exports),
 * which lags what it has been given by up to one redraw.
 */
export function rowList(container, rowOf) {
  let made = new Map();
  function draw(items) {
    draw.items = items;
    const kept = new Map();
    const wanted = items.map((item) => {
      const row = made.get(item) ?? rowOf(item);
      kept.set(item, row);
      return row;
    });
    made = kept;
    const shown = container.children;
    const at = shown.length ? wanted.indexOf(shown[0]) : -1;
    let follows = at >= 0 || shown.length === 0;
    for (let index = 0; follows && index < shown.length && at + index < wanted.length; index += 1) {
      follows = shown[index] === wanted[at + index];
    }
    if (!follows) {
      container.replaceChildren(...wanted);
      return;
    }
    if (at > 0) container.prepend(...wanted.slice(0, at));
    else if (shown.length === 0 && wanted.length) container.append(...wanted);
    while (shown.length > wanted.length) shown[shown.length - 1].remove();
  }
  draw.items = [];
  return draw;
}

/**
 * Return a compact data table, {table, body}: a header row of `columns`
 * ([{label, className, unit}]) and an empty body for the rows.
 */
export function compactTable(columns, className = "") {
  const table = element("table", `data-table data-table-compact${className ? ` ${className}` : ""}`);
  const head = element("thead");
  const headRow = element("tr");
  for (const { label, className: cellClass = "", unit } of columns) {
    const cell = element("th", cellClass, label);
    if (unit) cell.append(element("span", "unit", ` ${unit}`));
    headRow.append(cell);
  }
  head.append(headRow);
  const body = element("tbody");
  table.append(head, body);
  return { table, body };
}

/** Return the span of a list of samples held oldest first (or newest first), for an export. */
export function spanOf(samples) {
  if (!samples.length) return null;
  const [a, b] = [samples[0], samples.at(-1)];
  const [first, last] = a.t <= b.t ? [a, b] : [b, a];
  return { from: first.t, to: last.t, firstSeq: first.seq ?? null, lastSeq: last.seq ?? null };
}

/** Make a scrolling list reachable by keyboard (its arrow keys scroll it) and name it. */
export function scrollable(root, config, what) {
  root.tabIndex = 0;
  root.setAttribute("role", "region");
  root.setAttribute("aria-label", `${what} of ${config.title ?? "the stream"}`);
  return root;
}

/** Return a test of the samples `config.filter` keeps, after adding a note saying what it keeps. */
export function filtered(root, config) {
  const words = describeFilter(config.filter);
  if (words) {
    const note = element("p", "widget-filter-note", `Only ${words}`);
    note.title = "Filtered: change it in the widget's editor or the page address";
    root.prepend(note);
  }
  return sampleTest(config.filter);
}

/** Put a "live only" note in the place of what a widget that cannot show a past range holds. */
export function liveOnlyNote(root, config) {
  if (!config.range) return false;
  for (const child of root.children) child.hidden = true;
  root.append(element("p", "widget-note", "Shows live data only. Switch the range to Live to see it."));
  return true;
}

// Redraw a canvas widget when its box changes size or the theme changes; returns
// the function that stops watching.
export function watchLayout(el, loop, { onResize, onTheme }) {
  const observer = new ResizeObserver(() => {
    onResize();
    loop.schedule();
  });
  observer.observe(el);
  const stopTheme = onThemeChange(() => {
    onTheme();
    loop.schedule();
  });
  return () => {
    observer.disconnect();
    stopTheme();
  };
}
