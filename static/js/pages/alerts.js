// The alerts page: the contact form shows the inputs of the chosen kind, the
// browser contact asks for notification permission on a click, and alerts that
// arrive while the page is open (tests included) show as toasts and notifications.

import htmx from "../../vendor/htmx/htmx.esm.js";
import { keepAlive, liveUrl } from "../connection.js";
import { LiveClient } from "../live.js";
import { alertTitle, askForNotifications, notificationState, notifyAlert } from "../notify.js";
import { localiseTimes, showToast } from "../ui.js";

const STATE_WORDS = {
  granted: "allowed",
  denied: "blocked (change it in the browser’s site settings)",
  default: "not asked yet",
  unsupported: "not supported by this browser",
};

function showPermission(root = document) {
  const state = notificationState();
  for (const holder of root.querySelectorAll("[data-notify-permission]")) {
    holder.querySelector("[data-notify-state]").textContent = STATE_WORDS[state] ?? state;
    holder.querySelector("[data-notify-ask]").hidden = state !== "default";
  }
}

function showKindInputs(root = document) {
  const form = root.querySelector("#contact-form");
  if (!form) return;
  const kind = form.querySelector("#contact-kind").value;
  for (const field of form.querySelectorAll("[data-for-kind]")) field.hidden = field.dataset.forKind !== kind;
}

document.addEventListener("click", async (event) => {
  if (!event.target.closest("[data-notify-ask]")) return;
  await askForNotifications();
  showPermission();
});

document.addEventListener("change", (event) => {
  if (event.target.id === "contact-kind") showKindInputs();
});

document.body.addEventListener("htmx:afterSettle", () => {
  // The delivery log replaces itself (outerHTML): its times are new elements.
  localiseTimes(document.getElementById("deliveries") ?? document);
  showPermission();
  showKindInputs();
});

showPermission();
showKindInputs();

const client = new LiveClient({ url: liveUrl() });
client.on("alert", (frame) => {
  showToast({ title: alertTitle(frame), message: frame.message, tone: frame.state === "firing" ? "danger" : "ok" });
  notifyAlert(frame);
  htmx.trigger("#deliveries", "refresh");
});
client.connect();
keepAlive(client);
