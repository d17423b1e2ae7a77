// Widget kinds by name: one module for each row of the server's table
// (dashboards/kinds.py; docs/widgets.md). Each module's `create(el, config)`
// returns {push(samples), clear(), resize(), destroy()} and, where it has a use,
// prepend(samples), presence(counts) and status(running).

import * as candlestick from "./candlestick.js";
import * as counter from "./counter.js";
import * as feed from "./feed.js";
import * as gauge from "./gauge.js";
import * as orderbook from "./orderbook.js";
import * as stat from "./stat.js";
import * as table from "./table.js";
import * as ticker from "./ticker.js";
import * as timeseries from "./timeseries.js";
import * as trades from "./trades.js";
import * as viewers from "./viewers.js";

const KINDS = { timeseries, gauge, stat, counter, feed, viewers, table, candlestick, orderbook, ticker, trades };

/**
 * Return what a widget of `kind` shows of a past range: "buckets" (its module
 * draws reduced history: means inside their min–max extent) or "raw" (the
 * stored samples at the range's end, every field: feeds, tables, trades, books).
 */
export function historyFill(kind) {
  return KINDS[kind]?.HISTORY_FILL ?? "raw";
}

/** Return a widget of `kind` drawn into `el`; an unknown kind says so instead of failing. */
export function createWidget(kind, el, config) {
  const module = KINDS[kind];
  if (module) return module.create(el, config);
  const note = document.createElement("p");
  note.className = "widget-note";
  note.textContent = `This page cannot draw “${kind}” widgets.`;
  el.append(note);
  return { push() {}, clear() {}, resize() {}, span: () => null, destroy: () => note.remove() };
}
