// What pages show besides their widgets: passing notes (toasts), the confirm
// dialog that stands in for window.confirm, and server times in the reader's zone.

import { formatDateTime } from "./format.js";

/** Show `question` in the page's confirm dialog; resolve true when the user confirms. */
export function askToConfirm(question, label = "Delete") {
  const dialog = document.getElementById("confirm-dialog");
  dialog.querySelector("#confirm-text").textContent = question;
  dialog.querySelector("[data-confirm-ok]").textContent = label;
  dialog.returnValue = "";
  dialog.showModal();
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "ok"), { once: true });
  });
}

const TOAST_SECONDS = 8;

/** Show a passing note in the corner: {title, message, tone: "danger" | "ok" | undefined}. */
export function showToast({ title, message, tone }) {
  const holder = document.getElementById("toasts");
  if (!holder) return;
  const toast = document.createElement("div");
  toast.className = "toast";
  if (tone) toast.dataset.tone = tone;
  const text = document.createElement("div");
  text.className = "toast-text";
  const heading = document.createElement("strong");
  heading.className = "toast-title";
  heading.textContent = title;
  const body = document.createElement("span");
  body.className = "toast-message";
  body.textContent = message ?? "";
  text.append(heading, body);
  const close = document.createElement("button");
  close.type = "button";
  close.className = "icon-button toast-close";
  close.setAttribute("aria-label", "Dismiss");
  close.textContent = "×";
  close.addEventListener("click", () => toast.remove());
  toast.append(text, close);
  holder.prepend(toast);
  while (holder.children.length > 4) holder.lastElementChild.remove();
  setTimeout(() => toast.remove(), TOAST_SECONDS * 1000);
}

/** Write server timestamps (`<time data-t="ms">`) in the reader's own time zone. */
export function localiseTimes(root = document) {
  for (const element of root.querySelectorAll?.("time[data-t]") ?? []) {
    const t = Number(element.dataset.t);
    if (!Number.isFinite(t) || element.dateTime) continue;
    element.dateTime = new Date(t).toISOString();
    element.textContent = formatDateTime(t);
  }
}

