// Exports of what is on screen, as CSV or JSON from the export endpoints: each
// widget's menu exports the samples it draws (by their seq, so a window of the
// last N points exports exactly those N); the dashboard's Export data menu
// covers, per stream, the union of its widgets' visible spans, and in history
// and playback the selected range.

import { exportUrl } from "../data/history.js";
import { liveSpanMs } from "../data/range.js";
import { formatDateTime } from "../format.js";
import { element } from "../widgets/common.js";

/**
 * Return, per stream, the union of the spans its widgets show:
 * Map slug → {from, to, firstSeq, lastSeq}. Widgets that cannot say (a gauge)
 * count for `fallbackMs` before `now`. A seq bound is kept only when every
 * widget of the stream gave one.
 */
export function unionSpans(spans, { now, fallbackMs }) {
  const union = new Map();
  for (const { widget, span } of spans) {
    const part = span ?? { from: now - fallbackMs, to: now, firstSeq: null, lastSeq: null };
    const seen = union.get(widget.stream);
    if (!seen) {
      union.set(widget.stream, { from: part.from, to: part.to, firstSeq: part.firstSeq ?? null, lastSeq: part.lastSeq ?? null });
      continue;
    }
    const bySeq = seen.firstSeq !== null && part.firstSeq != null && seen.lastSeq !== null && part.lastSeq != null;
    union.set(widget.stream, {
      from: Math.min(seen.from, part.from),
      to: Math.max(seen.to, part.to),
      firstSeq: bySeq ? Math.min(seen.firstSeq, part.firstSeq) : null,
      lastSeq: bySeq ? Math.max(seen.lastSeq, part.lastSeq) : null,
    });
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

export function setupExport({ host, timeRange, share = null }) {
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
        if (!range) name.title = `${formatDateTime(span.from)} – ${formatDateTime(span.to)}`;
        item.append(name, ...links(slug, spanRequest(span, range), share, slug));
        return item;
      }),
    );
    if (!list.children.length) list.append(element("li", "menu-empty", "No streams on this dashboard."));
  });

  // A widget's own export: the button in its header opens a small menu.
  const menu = element("div", "menu widget-export-menu");
  menu.popover = "auto";
  menu.id = "widget-export-menu";
  menu.setAttribute("aria-label", "Export this widget's data");
  document.body.append(menu);
  document.addEventListener("click", (event) => {
    const button = event.target.closest?.("[data-widget-export]");
    if (!button) return;
    const id = Number(button.closest(".grid-stack-item")?.dataset.widgetId);
    const shown = host.spans().find(({ widget }) => widget.id === id);
    if (!shown) return;
    const { widget, span } = shown;
    const range = timeRange();
    const heading = element("p", "menu-heading", "Export what this widget shows");
    if (!span && !range) {
      menu.replaceChildren(heading, element("p", "menu-note", "Nothing drawn yet."));
    } else {
      const request = spanRequest(span, range && !span ? range : span?.buckets ? range : null);
      const when = element("p", "menu-note", `${formatDateTime(request.from)} – ${formatDateTime(request.to)}`);
      const row = element("div", "export-row");
      row.append(...links(widget.stream, request, share, widget.title || widget.stream));
      menu.replaceChildren(heading, when, row);
    }
    const box = button.getBoundingClientRect();
    menu.style.position = "fixed";
    menu.style.top = `${Math.round(box.bottom + 4)}px`;
    menu.style.left = `${Math.round(Math.max(8, box.right - 220))}px`;
    menu.style.margin = "0";
    menu.showPopover();
  });
}
