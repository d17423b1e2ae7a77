// Exports of what is on screen. A widget's menu makes one file, in the page,
// of the samples it draws: every stream it shows, by their seqs (a window of
// the last N points exports exactly those N), only the fields it draws and
// only the samples its filter keeps. The dashboard's Export data menu links
// the server's raw export of every stream on screen: per stream, the union of
// its widgets' visible spans, and in history and playback the selected range.

import { exportUrl, fetchAllSamples } from "../data/history.js";
import { sampleTest } from "../data/filters.js";
import { liveSpanMs } from "../data/range.js";
import { formatDateTime } from "../format.js";
import { element } from "../widgets/common.js";
import { widgetStreams } from "./widgets.js";

// A widget's file holds at most this many samples of each stream (its note says when it was cut).
export const WIDGET_EXPORT_MAX = 100_000;
// A spreadsheet runs a cell starting with one of these as a formula: text cells get a leading quote,
// as the server's CSV export does.
const FORMULA_STARTS = ["=", "+", "-", "@", "\t", "\r"];

/** Return the span of `slug` in what a widget shows (`span` from its module), or null. */
export function streamSpan(span, slug) {
  if (!span) return null;
  if (span.streams) return span.streams[slug] ?? null;
  return span;
}

/**
 * Return, per stream, the union of the spans its widgets show:
 * Map slug → {from, to, firstSeq, lastSeq}. Every stream of every widget
 * counts; a widget that cannot say (a gauge) counts for `fallbackMs` before
 * `now`. A seq bound is kept only when every widget of the stream gave one.
 */
export function unionSpans(spans, { now, fallbackMs }) {
  const union = new Map();
  for (const { widget, span } of spans) {
    for (const slug of widgetStreams(widget)) {
      const part = streamSpan(span, slug) ?? { from: now - fallbackMs, to: now, firstSeq: null, lastSeq: null };
      const seen = union.get(slug);
      if (!seen) {
        union.set(slug, { from: part.from, to: part.to, firstSeq: part.firstSeq ?? null, lastSeq: part.lastSeq ?? null });
        continue;
      }
      const bySeq = seen.firstSeq !== null && part.firstSeq != null && seen.lastSeq !== null && part.lastSeq != null;
      union.set(slug, {
        from: Math.min(seen.from, part.from),
        to: Math.max(seen.to, part.to),
        firstSeq: bySeq ? Math.min(seen.firstSeq, part.firstSeq) : null,
        lastSeq: bySeq ? Math.max(seen.lastSeq, part.lastSeq) : null,
      });
    }
  }
  return union;
}

/** Return the export request of a span: its times (the end inclusive) and, where known, its seqs. */
export function spanRequest(span, range = null) {
  if (range) return { from: range.from, to: range.to };
  const request = { from: span.from, to: span.to + 1 };
  if (span.firstSeq != null && span.lastSeq != null && !span.buckets) {
    request.firstSeq = span.firstSeq;
    request.lastSeq = span.lastSeq;
  }
  return request;
}

/**
 * Return the fields a widget draws, per stream: Map slug → [field names], from
 * the config its module got (its own fields, then each further series').
 */
export function drawnFields(config) {
  const fields = new Map();
  for (const field of config.fields ?? []) {
    const slug = field.stream ?? config.stream;
    const name = field.stream ? field.field : field.name;
    if (!fields.has(slug)) fields.set(slug, []);
    if (!fields.get(slug).includes(name)) fields.get(slug).push(name);
  }
  return fields;
}

/**
 * Return what a widget's file holds, per stream, for the span it shows (or the
 * page's `range` when it draws buckets or nothing yet): [{slug, fields, request}].
 * Streams it has drawn nothing of yet are left out; null when nothing at all.
 */
export function widgetExportPlan({ widget, config, span }, range = null) {
  const fields = drawnFields(config);
  const plan = [];
  for (const slug of widgetStreams(widget)) {
    const own = streamSpan(span, slug);
    const request = range && (!own || own.buckets) ? spanRequest(null, range) : own ? spanRequest(own) : null;
    if (request) plan.push({ slug, fields: fields.get(slug) ?? [], request });
  }
  return plan.length ? plan : null;
}

/**
 * Return the rows of a widget's file: the samples of each stream (`loaded`:
 * slug → samples) within its request's seqs that `keep` keeps, with only the
 * fields drawn, oldest first: [{stream, seq, t, values, flags?}].
 */
export function exportRows(plan, loaded, keep = () => true) {
  const rows = [];
  for (const { slug, fields, request } of plan) {
    for (const sample of loaded.get(slug) ?? []) {
      if (request.firstSeq != null && (sample.seq < request.firstSeq || sample.seq > request.lastSeq)) continue;
      if (!keep(sample)) continue;
      const values = {};
      for (const name of fields) if (sample.values?.[name] !== undefined) values[name] = sample.values[name];
      const row = { stream: slug, seq: sample.seq, t: sample.t, values };
      if (sample.flags?.length) row.flags = sample.flags;
      rows.push(row);
    }
  }
  return rows.sort((a, b) => a.t - b.t || (a.stream < b.stream ? -1 : a.stream > b.stream ? 1 : a.seq - b.seq));
}

function inert(text) {
  return FORMULA_STARTS.some((start) => text.startsWith(start)) ? `'${text}` : text;
}

function csvCell(value) {
  if (value === undefined || value === null) return "";
  const text = typeof value === "object" ? JSON.stringify(value) : typeof value === "string" ? inert(value) : String(value);
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** Return the rows as CSV: stream, seq, t, time, one column per field drawn, flags. */
export function rowsToCsv(plan, rows) {
  const names = [...new Set(plan.flatMap(({ fields }) => fields))];
  const lines = [["stream", "seq", "t", "time", ...names, "flags"].map((name) => csvCell(name)).join(",")];
  for (const row of rows) {
    const cells = [row.stream, row.seq, row.t, new Date(row.t).toISOString(), ...names.map((name) => row.values[name]), (row.flags ?? []).join(" ")];
    lines.push(cells.map(csvCell).join(","));
  }
  return `${lines.join("\r\n")}\r\n`;
}

/** Return the rows as JSON: the streams with their fields drawn, then the samples. */
export function rowsToJson(plan, rows) {
  const streams = plan.map(({ slug, fields, request }) => ({ stream: slug, fields, from: request.from, to: request.to }));
  return JSON.stringify({ streams, samples: rows });
}

/** Load the raw samples of each stream of `plan`; return {loaded: slug → samples, cut: whether one was cut short}. */
export async function loadPlan(plan, { share = null, fetchImpl = globalThis.fetch, max = WIDGET_EXPORT_MAX } = {}) {
  const loaded = new Map();
  let cut = false;
  await Promise.all(
    plan.map(async ({ slug, request }) => {
      const afterSeq = request.firstSeq != null ? request.firstSeq - 1 : 0;
      const samples = await fetchAllSamples(slug, { from: request.from, to: request.to, afterSeq, max }, { share, fetchImpl });
      if (samples.length >= max) cut = true;
      loaded.set(slug, samples);
    }),
  );
  return { loaded, cut };
}

function fileName(widget, format) {
  const name = (widget.title || widget.stream).toLowerCase().replace(/[^a-z0-9.-]+/g, "-").replace(/^-+|-+$/g, "");
  return `${name || "widget"}-${new Date().toISOString().slice(0, 19).replaceAll(":", "")}.${format}`;
}

function links(slug, request, share, label) {
  return ["csv", "json"].map((format) => {
    const link = element("a", "button button-small", format.toUpperCase());
    link.href = exportUrl(slug, format, request, share);
    link.download = "";
    link.dataset.export = format;
    link.dataset.stream = slug;
    link.setAttribute("aria-label", `${label} as ${format.toUpperCase()}`);
    return link;
  });
}

function setupBoardExport({ host, timeRange, share }) {
  const panel = document.getElementById("export-panel");
  const list = document.getElementById("export-list");
  const label = document.getElementById("export-range");
  if (!panel || !list) return;
  panel.addEventListener("toggle", (event) => {
    if (event.newState !== "open") return;
    const now = Date.now();
    const range = timeRange();
    const spans = unionSpans(host.spans(), { now, fallbackMs: liveSpanMs(host.widgets.map((widget) => widget.config)) });
    label.textContent = range ? `${formatDateTime(range.from)} – ${formatDateTime(range.to)}` : "What each widget shows now";
    list.replaceChildren(
      ...[...spans].map(([slug, span]) => {
        const item = element("li", "export-row");
        const name = element("span", "export-name", host.stream(slug)?.title || slug);
        name.title = range ? slug : `${slug}: ${formatDateTime(span.from)} – ${formatDateTime(span.to)}`;
        item.append(name, ...links(slug, spanRequest(span, range), share, host.stream(slug)?.title || slug));
        return item;
      }),
    );
    if (!list.children.length) list.append(element("li", "menu-empty", "No streams on this dashboard."));
  });
}

// Hand `text` to the browser as a downloaded file.
function download(text, name, type) {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const link = element("a");
  link.href = url;
  link.download = name;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

function setupWidgetExport({ host, timeRange, share }) {
  // A widget's own export: the button in its header opens a small menu.
  const menu = element("div", "menu widget-export-menu");
  menu.popover = "auto";
  menu.id = "widget-export-menu";
  menu.setAttribute("role", "dialog");
  menu.setAttribute("aria-label", "Export this widget's data");
  document.body.append(menu);

  async function save(shown, plan, format, note) {
    note.textContent = "Preparing the file…";
    try {
      const { loaded, cut } = await loadPlan(plan, { share });
      const rows = exportRows(plan, loaded, sampleTest(shown.config.filter));
      const text = format === "csv" ? rowsToCsv(plan, rows) : rowsToJson(plan, rows);
      download(text, fileName(shown.widget, format), format === "csv" ? "text/csv" : "application/json");
      const count = `${rows.length.toLocaleString("en")} sample${rows.length === 1 ? "" : "s"}`;
      note.textContent = cut ? `${count}: the first ${WIDGET_EXPORT_MAX.toLocaleString("en")} of each stream.` : `${count} saved.`;
    } catch (error) {
      note.textContent = `Not exported: ${error.message}`;
    }
  }

  document.addEventListener("click", (event) => {
    const button = event.target.closest?.("[data-widget-export]");
    if (!button) return;
    const id = Number(button.closest(".grid-stack-item")?.dataset.widgetId);
    const shown = host.spans().find(({ widget }) => widget.id === id);
    if (!shown) return;
    // What it shows now: the file holds this, however long the menu stays open.
    const plan = widgetExportPlan(shown, timeRange());
    const heading = element("p", "menu-heading", "Export what this widget shows");
    if (!plan) {
      menu.replaceChildren(heading, element("p", "menu-note", "Nothing drawn yet."));
    } else {
      const from = Math.min(...plan.map(({ request }) => request.from));
      const to = Math.max(...plan.map(({ request }) => request.to));
      const what = plan.map(({ slug, fields }) => (fields.length ? `${slug}: ${fields.join(", ")}` : slug)).join("; ");
      const when = element("p", "menu-note", `${formatDateTime(from)} – ${formatDateTime(to)}`);
      const streams = element("p", "menu-note export-streams", what);
      const status = element("p", "menu-note export-status");
      status.setAttribute("role", "status");
      const row = element("div", "export-row");
      for (const format of ["csv", "json"]) {
        const saveButton = element("button", "button button-small", format.toUpperCase());
        saveButton.type = "button";
        saveButton.dataset.export = format;
        saveButton.setAttribute("aria-label", `${format.toUpperCase()} of ${shown.widget.title || shown.widget.stream}`);
        saveButton.addEventListener("click", () => save(shown, plan, format, status));
        row.append(saveButton);
      }
      menu.replaceChildren(heading, when, streams, row, status);
    }
    const box = button.getBoundingClientRect();
    menu.style.position = "fixed";
    menu.style.top = `${Math.round(box.bottom + 4)}px`;
    menu.style.left = `${Math.round(Math.max(8, box.right - 260))}px`;
    menu.style.margin = "0";
    menu.showPopover();
  });
}

export function setupExport({ host, timeRange, share = null }) {
  setupBoardExport({ host, timeRange, share });
  setupWidgetExport({ host, timeRange, share });
}
