// A panel's view: one widget over the whole board (its menu's View button, or
// `v` on a focused widget; Esc or "Back to dashboard" returns), the way
// Grafana's viewPanel works. The page's address says which panel is viewed
// (?panel=<id>, beside the range's from/to or range), so a copied link opens
// the dashboard at that panel and time range.

const PARAM = "panel";

/** Return the address of the page with `panel` viewed (null: none), keeping its other parameters. */
export function panelUrl(href, panel) {
  const url = new URL(href);
  if (panel === null) url.searchParams.delete(PARAM);
  else url.searchParams.set(PARAM, String(panel));
  return url.toString();
}

/** Return the id of the panel `search` asks to view, or null. */
export function panelFromQuery(search) {
  const value = new URLSearchParams(search).get(PARAM);
  return value && /^\d+$/.test(value) ? Number(value) : null;
}

/**
 * Wire the view of one panel to `grid` (the board's grid). `bar` is the view's
 * bar (title, copy link, back), `board` the element marked while a panel is viewed.
 */
export function setupPanelView({ grid, container, board, bar }) {
  const title = bar.querySelector("[data-view-title]");
  const link = bar.querySelector("[data-view-link]");
  const copy = bar.querySelector("[data-view-copy]");
  const back = bar.querySelector("[data-view-back]");
  const status = bar.querySelector("[data-view-status]");
  let viewed = null;

  function show(id, { focus = true } = {}) {
    const item = grid.tile(id);
    if (!item) return false;
    hide({ restore: false });
    viewed = item;
    item.classList.add("is-viewed");
    item.querySelector("[data-widget-view]")?.setAttribute("aria-pressed", "true");
    board.classList.add("is-viewing");
    document.documentElement.classList.add("is-panel-view");
    title.textContent = item.querySelector(".widget-title").textContent;
    bar.hidden = false;
    status.textContent = "";
    history.replaceState(null, "", panelUrl(location.href, id));
    refresh();
    // The panel fills the screen below the toolbar and this bar.
    window.scrollTo({ top: 0 });
    const top = container.getBoundingClientRect().top;
    board.style.setProperty("--panel-view-top", `${Math.round(top)}px`);
    if (focus) item.querySelector(".widget").focus({ preventScroll: true });
    return true;
  }

  /** Keep the view's link at the address (the range changes it). */
  function refresh() {
    if (viewed) link.href = location.href;
  }

  function hide({ restore = true } = {}) {
    if (!viewed) return;
    const item = viewed;
    viewed = null;
    item.classList.remove("is-viewed");
    item.querySelector("[data-widget-view]")?.setAttribute("aria-pressed", "false");
    board.classList.remove("is-viewing");
    document.documentElement.classList.remove("is-panel-view");
    bar.hidden = true;
    history.replaceState(null, "", panelUrl(location.href, null));
    if (restore) {
      item.querySelector(".widget").focus({ preventScroll: true });
      item.scrollIntoView({ block: "nearest" });
    }
  }

  container.addEventListener("click", (event) => {
    const button = event.target.closest?.("[data-widget-view]");
    if (!button) return;
    const id = Number(button.closest(".grid-stack-item").dataset.widgetId);
    if (viewed?.dataset.widgetId === String(id)) hide();
    else show(id);
  });

  // `v` on a focused widget (not inside one of its inputs) views it or returns.
  container.addEventListener("keydown", (event) => {
    if (event.key !== "v" || event.altKey || event.ctrlKey || event.metaKey) return;
    const widget = event.target.closest?.(".widget");
    if (!widget || event.target !== widget) return;
    event.preventDefault();
    const item = widget.closest(".grid-stack-item");
    if (viewed === item) hide();
    else show(Number(item.dataset.widgetId));
  });

  // Esc returns, unless something on top (a menu, a dialog) takes it first.
  document.addEventListener("keydown", (event) => {
    if (event.key !== "Escape" || !viewed || event.defaultPrevented) return;
    if (document.querySelector(":popover-open, dialog[open]")) return;
    hide();
  });

  back.addEventListener("click", () => hide());

  copy.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(location.href);
      status.textContent = "Link copied.";
    } catch {
      // Clipboard access needs a secure context or a permission: the link beside it is there to copy by hand.
      status.textContent = "Copy the link beside.";
    }
  });

  /** View the panel the address asks for, once its tile is on the board. */
  function fromAddress() {
    const id = panelFromQuery(location.search);
    if (id !== null && !show(id, { focus: false })) history.replaceState(null, "", panelUrl(location.href, null));
  }

  return { show, hide, refresh, fromAddress, viewed: () => (viewed ? Number(viewed.dataset.widgetId) : null) };
}
