// Whether what each widget shows is current. While the page's connection is
// down every widget is marked stale (a hollow dot, a dimmed value, the time of
// its last update in the dot's tooltip), so a frozen chart never passes for a
// quiet one; a widget whose source is stopped says so in its body.

import { widgetStreams } from "./board/widgets.js";
import { State } from "./live.js";

const REFRESH_MS = 1000;

/** Return the tooltip of a widget's dot: its state, then the time of its last update. */
export function freshnessTitle({ stale, stopped, lastUpdate }, formatTime) {
  const state = stale ? "Not live: reconnecting" : stopped ? "Source stopped" : "Source running";
  const last = lastUpdate === null ? "no update yet" : `last update ${formatTime(lastUpdate)}`;
  return `${state} · ${last}`;
}

function clockTime(ms) {
  return new Date(ms).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
}

/** Put on `article` the small flag that says its source is stopped, unless it has one. */
function stoppedFlag(article) {
  if (article.querySelector(".widget-flag")) return;
  const flag = document.createElement("span");
  flag.className = "widget-flag";
  flag.textContent = "Stopped";
  article.querySelector(".widget-header")?.after(flag);
}

/**
 * Keep each tile of `host` (a WidgetHost on `grid`) marked with the freshness
 * of its streams, as `client` (the page's LiveClient) reports them. Return a
 * function that stops.
 */
export function watchFreshness({ client, host, grid, now = () => Date.now(), formatTime = clockTime }) {
  const lastUpdate = new Map();
  const running = new Map();

  const widgetFreshness = (widget) => {
    const live = host.mode.mode === "live";
    const times = widgetStreams(widget).map((slug) => lastUpdate.get(slug) ?? null).filter((at) => at !== null);
    return {
      stale: live && client.state !== State.CONNECTED,
      stopped: live && running.get(widget.stream) === false,
      lastUpdate: times.length ? Math.max(...times) : null,
    };
  };

  const show = () => {
    for (const widget of host.widgets) {
      const item = grid.tile(widget.id);
      const article = item?.querySelector(".widget");
      if (!article) continue;
      const state = widgetFreshness(widget);
      article.classList.toggle("is-stale", state.stale);
      article.classList.toggle("is-stopped", state.stopped);
      if (state.stopped) stoppedFlag(article);
      else article.querySelector(".widget-flag")?.remove();
      const source = article.querySelector(".widget-source");
      const title = freshnessTitle(state, formatTime);
      if (source && source.title !== title) source.title = title;
    }
  };

  const stops = [
    client.on("data", ({ stream }) => lastUpdate.set(stream, now())),
    client.on("state", show),
    client.on("subscribed", (message) => {
      running.set(message.stream, message.running);
      show();
    }),
    client.on("status", (message) => {
      running.set(message.stream, message.running);
      show();
    }),
  ];
  // The tooltip's time, and tiles added or redrawn since, are brought up to date each second.
  const timer = setInterval(show, REFRESH_MS);
  show();
  return () => {
    clearInterval(timer);
    for (const stop of stops) stop();
  };
}
