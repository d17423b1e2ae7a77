// The bell: alert events of the user, the recent ones from the page and new
// ones from `alert` frames on the socket, with a count of those not yet seen
// and a toast for each new one (a system notification too when the page is hidden).

import { alertTitle, notifyAlert } from "../notify.js";
import { showToast } from "../ui.js";
import { formatDateTime } from "../format.js";
import { element } from "../widgets/common.js";

const SEEN_KEY = "pulseboard.alerts.seen";
const MAX_ITEMS = 50;
// An alert frame's state, as the bell's items name it and show it.
const STATES = { firing: "firing", resolved: "resolved", "no data": "nodata" };
const LABELS = { firing: "Firing", resolved: "Resolved", "no data": "No data" };

function lastSeen() {
  try {
    return Number(localStorage.getItem(SEEN_KEY)) || 0;
  } catch {
    return 0;
  }
}

function remember(t) {
  try {
    localStorage.setItem(SEEN_KEY, String(t));
  } catch {
    // Not remembered across pages; the count still clears here.
  }
}

export function setupAlerts({ client }) {
  const button = document.getElementById("bell-button");
  const count = document.getElementById("bell-count");
  const list = document.getElementById("alert-list");
  const panel = document.getElementById("bell-panel");
  if (!button || !list) return;
  let newest = 0;
  let unread = 0;

  const seen = lastSeen();
  for (const item of list.querySelectorAll(".alert-item")) {
    const t = Number(item.dataset.t) || 0;
    newest = Math.max(newest, t);
    if (t > seen) {
      unread += 1;
      item.classList.add("is-unread");
    }
  }
  show();

  function show() {
    count.textContent = unread > 99 ? "99+" : String(unread);
    count.hidden = unread === 0;
    button.setAttribute("aria-label", unread ? `Alerts, ${unread} unread` : "Alerts, none unread");
    button.classList.toggle("has-unread", unread > 0);
  }

  panel?.addEventListener("toggle", (event) => {
    if (event.newState !== "open") return;
    unread = 0;
    remember(newest || Date.now());
    show();
    setTimeout(() => list.querySelectorAll(".is-unread").forEach((item) => item.classList.remove("is-unread")), 1500);
  });

  client.on("alert", (frame) => {
    notifyAlert(frame);
    const tone = frame.state === "firing" ? "danger" : "ok";
    if (frame.state === "test") {
      showToast({ title: alertTitle(frame), message: frame.message, tone });
      return;
    }
    document.getElementById("alert-empty")?.remove();
    const item = element("li", "alert-item is-unread");
    item.dataset.state = STATES[frame.state] ?? "resolved";
    item.dataset.eventId = String(frame.event);
    item.dataset.t = String(frame.t);
    const time = element("time", "alert-time", formatDateTime(frame.t));
    time.dateTime = new Date(frame.t).toISOString();
    item.append(element("span", "alert-state", LABELS[frame.state] ?? frame.state), element("span", "alert-message", frame.message), time);
    item.title = frame.reason ?? "";
    list.prepend(item);
    while (list.children.length > MAX_ITEMS) list.lastElementChild.remove();
    newest = Math.max(newest, frame.t);
    if (panel?.matches(":popover-open")) remember(newest);
    else unread += 1;
    show();
    showToast({ title: alertTitle(frame), message: frame.message, tone });
  });
}
