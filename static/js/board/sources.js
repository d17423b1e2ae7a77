// The Sources menu: each stream on the dashboard with its state, and start/stop
// for those who may run its source (its owner or staff, generated sources only).

import { runningWords } from "../format.js";
import { element } from "../widgets/common.js";

// A status frame normally answers within milliseconds; past this the button gives up waiting.
const CONTROL_TIMEOUT_MS = 5000;

export function setupSources({ client, host, list }) {
  const rows = new Map();

  function render(slug) {
    const stream = host.stream(slug);
    if (!stream) return;
    let row = rows.get(slug);
    if (!row) {
      row = { item: element("li", "source-row"), badge: element("span", "badge running-badge"), button: null, message: element("span", "source-message") };
      row.item.dataset.streamRow = slug;
      const name = element("div", "source-name");
      name.append(element("span", "source-title", stream.title || slug), element("code", "source-slug", slug));
      row.item.append(name, row.badge);
      if (stream.can_control) {
        row.button = element("button", "button button-small");
        row.button.type = "button";
        row.button.dataset.streamControl = slug;
        row.button.addEventListener("click", () => control(slug));
        row.item.append(row.button);
      }
      row.item.append(row.message);
      rows.set(slug, row);
      list.append(row.item);
    }
    const running = Boolean(stream.running);
    const words = runningWords(stream, running);
    row.badge.textContent = words.state;
    row.badge.dataset.running = String(running);
    if (row.button) {
      row.button.textContent = words.action;
      row.button.title = words.hint;
      row.button.setAttribute("aria-label", `${words.action}: ${stream.title || slug}`);
    }
  }

  function control(slug) {
    const row = rows.get(slug);
    if (!row?.button || row.button.getAttribute("aria-busy") === "true") return;
    const running = Boolean(host.stream(slug)?.running);
    client.send({ type: running ? "stop" : "start", stream: slug });
    // Busy rather than disabled: a disabled button drops keyboard focus.
    row.button.setAttribute("aria-busy", "true");
    clearTimeout(row.timer);
    row.timer = setTimeout(() => row.button.removeAttribute("aria-busy"), CONTROL_TIMEOUT_MS);
  }

  function setRunning(slug, running, by) {
    host.setRunning(slug, running);
    const row = rows.get(slug);
    if (row) {
      clearTimeout(row.timer);
      row.button?.removeAttribute("aria-busy");
      row.message.textContent = by ? `${running ? "started" : "stopped"} by ${by}` : "";
    }
    render(slug);
  }

  client.on("subscribed", (message) => setRunning(message.stream, message.running));
  client.on("status", (message) => setRunning(message.stream, message.running, message.by));
  client.on("error", (error) => {
    const row = rows.get(error.stream);
    if (!row || !["start", "stop"].includes(error.command?.type)) return;
    row.button?.removeAttribute("aria-busy");
    row.message.textContent = error.message ?? error.code;
  });

  return {
    refresh() {
      const shown = new Set(host.streamSlugs());
      for (const [slug, row] of rows) {
        if (!shown.has(slug)) {
          row.item.remove();
          rows.delete(slug);
        }
      }
      for (const slug of shown) render(slug);
      list.closest("[popover]")?.querySelector(".menu-empty")?.remove();
      if (!shown.size) list.append(element("li", "menu-empty", "No streams yet."));
    },
  };
}
