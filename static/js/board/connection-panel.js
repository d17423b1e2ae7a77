// The connection panel: the client's state (with an error state), connect and
// disconnect, the countdown to the next attempt, every counter, and the
// errors seen with a button that clears them.

import { frames } from "../frames.js";
import { ErrorLog, SampleRate, closeError, formatDuration, panelState } from "../live/panel.js";

const LABELS = { connecting: "Connecting", connected: "Connected", reconnecting: "Reconnecting", disconnected: "Disconnected", error: "Error" };
const EVERY_MS = 1000;
// How long a refresh waits to be drawn in a frame the page draws anyway.
const WAIT_MS = 100;

export function setupConnectionPanel(client, doc = document) {
  const cell = (id) => doc.getElementById(id);
  const badge = cell("panel-state");
  if (!badge) return;
  const countdown = cell("panel-countdown");
  const errors = new ErrorLog();
  const rate = new SampleRate();
  let retryAt = null;

  function showErrors() {
    const items = errors.items;
    cell("panel-error-count").textContent = `(${items.length})`;
    const list = cell("panel-errors");
    if (!items.length) {
      const empty = doc.createElement("li");
      empty.className = "panel-empty";
      empty.textContent = "No errors.";
      list.replaceChildren(empty);
      return;
    }
    list.replaceChildren(
      ...items.map((item) => {
        const entry = doc.createElement("li");
        const time = new Date(item.t).toLocaleTimeString();
        entry.textContent = `${time} · ${item.code}${item.stream ? ` · ${item.stream}` : ""}: ${item.message}`;
        return entry;
      }),
    );
  }

  function showCountdown() {
    const left = retryAt === null ? null : Math.max(0, retryAt - Date.now());
    countdown.hidden = left === null;
    if (left !== null) countdown.textContent = `Next attempt in ${Math.ceil(left / 1000)} s`;
  }

  client.on("state", (change) => {
    const state = panelState(change);
    badge.dataset.state = state === "error" ? "disconnected" : state;
    badge.textContent = LABELS[state] ?? state;
    retryAt = change.state === "reconnecting" && change.delay !== undefined ? Date.now() + change.delay : null;
    showCountdown();
    const problem = closeError(change, Date.now());
    if (problem) {
      errors.add(problem);
      showErrors();
    }
    cell("panel-connect").disabled = change.state === "connected" || change.state === "connecting";
    cell("panel-disconnect").disabled = change.state === "closed" || change.state === "disconnected";
  });
  client.on("error", (error) => {
    errors.add({ t: Date.now(), code: error.code, message: error.message, stream: error.stream });
    showErrors();
  });
  cell("panel-connect").addEventListener("click", () => client.connect());
  cell("panel-disconnect").addEventListener("click", () => client.close());
  cell("panel-clear-errors").addEventListener("click", () => {
    errors.clear();
    showErrors();
  });

  const update = () => {
    const stats = client.stats;
    const figures = {
      "panel-received": stats.received.toLocaleString(),
      "panel-sent": stats.sent.toLocaleString(),
      "panel-samples": stats.samples.toLocaleString(),
      "panel-samples-sent": stats.samplesSent.toLocaleString(),
      "panel-rate": rate.next(stats.liveSamples, performance.now()).toFixed(1),
      "panel-queued": stats.queued.toLocaleString(),
      "panel-subscriptions": stats.subscriptions.toLocaleString(),
      "panel-uptime": stats.connectedSince === null ? "–" : formatDuration(stats.uptime),
      "panel-rtt": stats.rtt === null ? "–" : `${Math.round(stats.rtt)} ms`,
      "panel-reconnects": stats.reconnects.toLocaleString(),
      "panel-gaps": stats.gaps.toLocaleString(),
    };
    for (const [id, text] of Object.entries(figures)) {
      const element = cell(id);
      if (element.textContent !== text) element.textContent = text;
    }
    showCountdown();
  };
  update();
  // (A paused view draws no frames; the panel's figures go on all the same.)
  setInterval(() => (frames.paused ? update() : frames.scheduleSoon(update, WAIT_MS)), EVERY_MS);
}
