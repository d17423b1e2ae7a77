// The dashboard page: one live connection, one subscription per stream, the
// widgets on their grid, and the page controls around them.

import { setupAlerts } from "../board/alerts.js";
import { setupConnectionPanel } from "../board/connection-panel.js";
import { setupExport } from "../board/export.js";
import { createBoardGrid } from "../board/grid.js";
import { setupPanelView } from "../board/panel-view.js";
import { setupSources } from "../board/sources.js";
import { setupTimeControls } from "../board/time.js";
import { WidgetHost } from "../board/widgets.js";
import { keepAlive, liveUrl, startStatsTicker, watchConnection } from "../connection.js";
import { fetchHistory } from "../data/history.js";
import { StreamHub } from "../data/stream-hub.js";
import { frames } from "../frames.js";
import { watchFreshness } from "../freshness.js";
import { LiveClient } from "../live.js";
import { showToast } from "../ui.js";

function main() {
  const page = JSON.parse(document.getElementById("board-data").textContent);
  const gridElement = document.getElementById("board-grid");
  const emptyNote = document.getElementById("board-empty");
  const debug = new URLSearchParams(location.search).has("debug");
  const client = new LiveClient({ url: liveUrl(page.share), debug });

  watchConnection(client, {
    badge: document.getElementById("connection-state"),
    note: document.getElementById("connection-note"),
    goneMessage: page.share ? "This link was revoked: the dashboard is no longer shared through it." : null,
  });
  setupConnectionPanel(client);
  startStatsTicker(client, {
    received: document.getElementById("stat-received"),
    rate: document.getElementById("stat-rate"),
    rtt: document.getElementById("stat-rtt"),
    reconnects: document.getElementById("stat-reconnects"),
  });

  // A secret link's holder reads the past of what the link shows, through its token.
  const share = page.share ?? null;
  const hub = new StreamHub({
    client,
    maxBackfill: page.max_backfill,
    fetchHistory: (slug, range) => fetchHistory(slug, range, globalThis.fetch, share),
  });
  const grid = createBoardGrid({
    container: gridElement,
    template: document.getElementById("widget-template"),
    canEdit: page.can_edit,
    urls: page.urls,
    onSaveError: () => showToast({ title: "Layout not saved", message: "Moving widgets again retries.", tone: "danger" }),
  });
  const host = new WidgetHost({
    grid,
    hub,
    streams: new Map(Object.entries(page.streams)),
    maxBackfill: page.max_backfill,
  });
  const sources = setupSources({ client, host, list: document.getElementById("sources-list") });
  watchFreshness({ client, host, grid });

  const showEmpty = () => {
    emptyNote.hidden = host.widgets.length > 0;
  };

  grid.grid.batchUpdate();
  for (const widget of page.widgets) host.add(widget);
  grid.grid.batchUpdate(false);
  grid.watchWidth();
  showEmpty();
  sources.refresh();

  const view = setupPanelView({
    grid,
    container: gridElement,
    board: document.getElementById("board"),
    bar: document.getElementById("panel-view-bar"),
  });
  const time = setupTimeControls({
    host,
    note: document.getElementById("range-note"),
    onRange: (range) => {
      document.getElementById("board").classList.toggle("is-history", range !== null);
      view.refresh();
    },
    onError: (error) => console.warn(error),
    share,
  });
  setupExport({ host, timeRange: time.range, share });
  // ?panel=<id>: the dashboard opens at that panel, viewed alone.
  view.fromAddress();
  // For tests and tools: the widgets' spans, the playback's state and the viewed panel.
  gridElement.board = { host, playback: time.playback, viewed: view.viewed };
  if (page.alerts) setupAlerts({ client });

  // The editor answers a save with the widget as stored; draw it without a reload.
  document.body.addEventListener("widget-saved", (event) => {
    const { widget, stream, streams } = event.detail;
    const known = host.widgets.some((item) => item.id === widget.id);
    if (known) host.update(widget, stream, streams);
    else {
      host.add(widget, stream, streams);
      grid.reveal(widget.id);
    }
    showEmpty();
    sources.refresh();
  });
  document.body.addEventListener("widget-deleted", (event) => {
    if (view.viewed() === event.detail.id) view.hide();
    host.remove(event.detail.id);
    showEmpty();
    sources.refresh();
  });

  const pause = document.getElementById("view-pause");
  pause.addEventListener("click", () => {
    const paused = !frames.paused;
    if (paused) frames.pause();
    else frames.resume();
    pause.setAttribute("aria-pressed", String(paused));
    pause.textContent = paused ? "Resume" : "Pause";
    document.getElementById("board").classList.toggle("is-paused", paused);
  });
  document.getElementById("view-clear").addEventListener("click", () => host.clear());

  client.on("error", (error) => {
    if (error.code === "forbidden" && !error.command) {
      showToast({ title: "Access changed", message: error.message, tone: "danger" });
    } else if (debug) {
      console.warn("live connection error", error);
    }
  });

  client.connect();
  keepAlive(client);
}

main();
