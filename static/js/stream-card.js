// One card of the overview: a stream's name, state, latest values, chart,
// viewers and, for those allowed, its start/stop control.

import { describeValue, formatTime, runningWords } from "./format.js";
import { create as createTimeseries } from "./widgets/timeseries.js";

const DEFAULT_WINDOW = 600;
// A sine stream runs at up to 1000 samples/s: five seconds of it.
const FAST_STREAM_WINDOW = 5000;
// A status frame normally answers within milliseconds; past this the button
// gives up waiting so it never stays stuck.
const CONTROL_TIMEOUT_MS = 5000;
const MESSAGE_SECONDS = 6;

/** Return the fields worth a line: market streams chart their price only. */
function chartFieldsOf(stream) {
  if (stream.source_kind === "market") {
    const price = stream.fields.filter((field) => field.name === "price");
    if (price.length) return price;
  }
  return stream.fields;
}

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

/**
 * Build the card of `stream` ({slug, title, fields, running, can_control, source_kind}).
 * `sendCommand(command)` carries start/stop to the server.
 */
export function createStreamCard(stream, { sendCommand }) {
  const titleId = `stream-title-${stream.slug}`;
  const chartFields = chartFieldsOf(stream);
  // Colours follow the chart: the n-th field that has carried a number gets --series-n.
  const numericChartFields = new Set();
  let latest = null;
  let frame = null;
  let controlTimer = null;
  let messageTimer = null;
  let running = Boolean(stream.running);

  const card = element("article", "card stream-card");
  card.dataset.stream = stream.slug;
  card.setAttribute("aria-labelledby", titleId);

  const header = element("header", "card-header");
  const heading = element("div", "card-heading");
  const title = element("h2", "card-title", stream.title || stream.slug);
  title.id = titleId;
  const subtitle = element("p", "card-subtitle");
  subtitle.append(element("code", "card-slug", stream.slug));
  if (stream.source_kind) subtitle.append(element("span", "card-kind", stream.source_kind));
  heading.append(title, subtitle);

  const actions = element("div", "card-actions");
  const badge = element("span", "badge running-badge");
  actions.append(badge);
  let control = null;
  if (stream.can_control) {
    control = element("button", "button button-small card-control");
    control.type = "button";
    control.addEventListener("click", onControlClick);
    actions.append(control);
  }
  header.append(heading, actions);

  const values = element("dl", "card-values");
  const valueCells = new Map();
  for (const field of stream.fields) {
    const row = element("div", "card-value");
    row.dataset.field = field.name;
    const label = element("dt", "card-value-name");
    label.append(element("span", "swatch"), document.createTextNode(field.name));
    const cell = element("dd", "card-value-number", "–");
    row.append(label, cell);
    values.append(row);
    valueCells.set(field.name, { row, cell, unit: field.unit ?? "" });
  }

  const chartBox = element("div", "card-chart");
  const footer = element("footer", "card-footer");
  const viewers = element("span", "card-viewers", "– viewers");
  const updated = element("span", "card-updated", "no data yet");
  const message = element("span", "card-message");
  message.setAttribute("role", "status");
  footer.append(viewers, updated, message);

  card.append(header, values, chartBox, footer);

  const chart = createTimeseries(chartBox, {
    fields: chartFields,
    window: stream.source_kind === "sine" ? FAST_STREAM_WINDOW : DEFAULT_WINDOW,
    title: stream.title || stream.slug,
  });
  showRunning();

  function onControlClick() {
    if (control.getAttribute("aria-busy") === "true") return;
    const type = running ? "stop" : "start";
    sendCommand({ type, stream: stream.slug });
    // Busy rather than disabled: a disabled button drops keyboard focus.
    control.setAttribute("aria-busy", "true");
    clearTimeout(controlTimer);
    controlTimer = setTimeout(releaseControl, CONTROL_TIMEOUT_MS);
  }

  function releaseControl() {
    clearTimeout(controlTimer);
    controlTimer = null;
    control?.removeAttribute("aria-busy");
  }

  function showRunning() {
    const words = runningWords(stream, running);
    badge.textContent = words.state;
    badge.dataset.running = String(running);
    card.dataset.running = String(running);
    if (control) {
      control.textContent = words.action;
      control.title = words.hint;
      control.setAttribute("aria-label", `${words.action}: ${stream.title || stream.slug}`);
    }
  }

  function renderValues() {
    frame = null;
    if (!latest) return;
    for (const [name, { row, cell, unit }] of valueCells) {
      const value = latest.values?.[name];
      cell.textContent = describeValue(value, unit);
      cell.title = cell.textContent;
      cell.classList.toggle("is-text", typeof value !== "number");
      const chartIndex = chartFields.findIndex((field) => field.name === name);
      if (chartIndex !== -1 && typeof value === "number") numericChartFields.add(chartIndex);
      const position = [...numericChartFields].sort((a, b) => a - b).indexOf(chartIndex);
      row.classList.toggle("has-swatch", position !== -1);
      if (position !== -1) row.style.setProperty("--swatch", `var(--series-${(position % 8) + 1})`);
    }
    const anomalous = Array.isArray(latest.flags) && latest.flags.includes("anomaly");
    card.classList.toggle("is-anomalous", anomalous);
    updated.textContent = `updated ${formatTime(latest.t)}`;
  }

  function showMessage(text) {
    message.textContent = text;
    clearTimeout(messageTimer);
    messageTimer = setTimeout(() => {
      message.textContent = "";
    }, MESSAGE_SECONDS * 1000);
  }

  return {
    element: card,

    push(samples) {
      chart.push(samples);
      for (const sample of samples) {
        if (!latest || sample.seq > latest.seq) latest = sample;
      }
      // Values change faster than anyone reads them: redraw once per frame.
      if (frame === null) frame = requestAnimationFrame(renderValues);
    },

    setRunning(isRunning, by) {
      const changed = running !== Boolean(isRunning);
      running = Boolean(isRunning);
      showRunning();
      releaseControl();
      if (changed && by) showMessage(`${running ? "Started" : "Stopped"} by ${by}`);
    },

    setPresence({ connections, users }) {
      const count = Number(connections) || 0;
      viewers.textContent = `${count} ${count === 1 ? "viewer" : "viewers"}`;
      viewers.title = `${count} open ${count === 1 ? "page" : "pages"}, ${users ?? "?"} signed-in ${users === 1 ? "user" : "users"}`;
    },

    /** Forget what was drawn: the server's numbering of this stream started over. */
    reset() {
      chart.clear();
      latest = null;
    },

    showError(error) {
      releaseControl();
      showMessage(error.message || error.code || "Something went wrong.");
    },

    destroy() {
      if (frame !== null) cancelAnimationFrame(frame);
      clearTimeout(controlTimer);
      clearTimeout(messageTimer);
      chart.destroy();
      card.remove();
    },
  };
}
