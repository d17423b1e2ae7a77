// Every page's entry point: htmx, the side drawer that htmx fills, the confirm
// dialog for htmx's questions, copy buttons, the sidebar toggle, the site menu on
// narrow screens and local times.

import htmx from "../../vendor/htmx/htmx.esm.js";
import { askToConfirm, localiseTimes, showToast } from "../ui.js";

const drawer = document.getElementById("drawer");
const drawerBody = document.getElementById("drawer-body");
const confirmDialog = document.getElementById("confirm-dialog");

// htmx copies a swapped element's old style attribute onto the new one with
// setAttribute, which our Content-Security-Policy (no inline styles) refuses and
// logs; styles set from scripts go through the CSSOM instead, so none is copied.
htmx.config.attributesToSettle = ["class", "width", "height"];

// Server errors (422 with the form and its messages) are meant to be shown.
htmx.config.responseHandling = [
  { code: "204", swap: false },
  { code: "[23]..", swap: true },
  { code: "422", swap: true, error: false },
  // A refusal that says why (an unconfirmed address, the hourly limit of tests).
  { code: "4(09|29)", swap: true, error: false },
  { code: "[45]..", swap: false, error: true },
];

function openDrawer() {
  if (!drawer.open) drawer.showModal();
  const focusable = drawerBody.querySelector("[autofocus], input:not([type=hidden]), select, button:not([data-drawer-close])");
  focusable?.focus();
}

function closeDrawer() {
  if (drawer.open) drawer.close();
}

document.body.addEventListener("htmx:afterSwap", (event) => {
  if (event.detail.target === drawerBody) openDrawer();
  localiseTimes(event.detail.target);
});

document.body.addEventListener("drawer-close", () => {
  // Let the "saved" note be read before the drawer goes.
  setTimeout(closeDrawer, 600);
});

drawer?.addEventListener("click", (event) => {
  if (event.target.closest("[data-drawer-close]")) closeDrawer();
  // A click on the backdrop lands on the dialog itself.
  else if (event.target === drawer) closeDrawer();
});

drawer?.addEventListener("close", () => drawerBody.replaceChildren());

// htmx asks before a request with data-hx-confirm; answer with our dialog, not the browser's.
document.body.addEventListener("htmx:confirm", (event) => {
  if (!event.detail.question || !confirmDialog) return;
  event.preventDefault();
  // The dialog's button says what the button that asked says ("Revoke", "New link"), unless told otherwise.
  const label = event.target.dataset.confirmLabel || event.target.textContent.trim() || undefined;
  askToConfirm(event.detail.question, label).then((confirmed) => {
    if (confirmed) event.detail.issueRequest(true);
  });
});

document.body.addEventListener("htmx:responseError", (event) => {
  const status = event.detail.xhr?.status;
  showToast({
    title: "The server refused that",
    message: status === 403 ? "You may not change this." : `Request failed (${status || "no answer"}). Try again.`,
    tone: "danger",
  });
});

document.body.addEventListener("htmx:sendError", () => {
  showToast({ title: "No connection", message: "The server could not be reached. Try again.", tone: "danger" });
});

document.addEventListener("click", async (event) => {
  const button = event.target.closest("[data-copy]");
  if (!button) return;
  const input = document.querySelector(button.dataset.copy);
  if (!input) return;
  try {
    await navigator.clipboard.writeText(input.value);
  } catch {
    // Clipboard access needs a secure context; selecting lets the user copy by hand.
    input.select();
    document.execCommand?.("copy");
  }
  const label = button.textContent;
  button.textContent = "Copied";
  setTimeout(() => {
    button.textContent = label;
  }, 1500);
});

const sidebarToggle = document.querySelector("[data-sidebar-toggle]");
sidebarToggle?.addEventListener("click", () => {
  const open = sidebarToggle.getAttribute("aria-expanded") !== "true";
  sidebarToggle.setAttribute("aria-expanded", String(open));
  document.getElementById("sidebar")?.classList.toggle("is-open", open);
});

// The site menu on narrow screens: a disclosure button; Escape, a click elsewhere or
// focus leaving the header folds it again (Escape gives focus back to the button).
const menuToggle = document.querySelector("[data-site-menu-toggle]");
const siteMenu = document.getElementById("site-menu");

function siteMenuShow(open) {
  menuToggle.setAttribute("aria-expanded", String(open));
  siteMenu.classList.toggle("is-open", open);
}

if (menuToggle && siteMenu) {
  menuToggle.addEventListener("click", () => siteMenuShow(menuToggle.getAttribute("aria-expanded") !== "true"));
  siteMenu.addEventListener("keydown", (event) => {
    if (event.key !== "Escape") return;
    siteMenuShow(false);
    menuToggle.focus();
  });
  menuToggle.addEventListener("keydown", (event) => {
    if (event.key === "Escape") siteMenuShow(false);
  });
  document.addEventListener("click", (event) => {
    if (!event.target.closest(".site-header")) siteMenuShow(false);
  });
  menuToggle.closest(".site-header").addEventListener("focusout", (event) => {
    if (event.relatedTarget && !event.currentTarget.contains(event.relatedTarget)) siteMenuShow(false);
  });
}

localiseTimes();
