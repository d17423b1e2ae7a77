// The dashboard's grid: 12 columns the owner drags and resizes widgets on
// (read-only for everyone else), one column on narrow screens. Layout changes
// are posted to the server as [{id, x, y, w, h}] a moment after they settle.

import { GridStack } from "../../vendor/gridstack/gridstack.js";
import htmx from "../../vendor/htmx/htmx.esm.js";

const COLUMNS = 12;
// Below this grid width the tiles stack in one column, in reading order.
const STACK_BELOW_PX = 720;
const SAVE_AFTER_MS = 500;
// Arrow key → [columns, rows] it moves (or, with Shift, grows) a tile by.
const KEY_STEPS = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] };

function csrfToken() {
  const headers = JSON.parse(document.body.getAttribute("data-hx-headers") || "{}");
  return headers["X-CSRFToken"] ?? "";
}

/**
 * Return the grid on `container`. `template` is the tile markup; `urls` hold
 * the layout endpoint and the widget edit/delete URLs (with 0 as the id).
 */
export function createBoardGrid({ container, template, canEdit, urls, onSaveError }) {
  const grid = GridStack.init(
    {
      column: COLUMNS,
      cellHeight: 64,
      margin: 5,
      animate: false,
      float: false,
      staticGrid: !canEdit,
      handle: ".widget-header",
    },
    container,
  );
  let saveTimer = null;

  // One column is a reading layout: moving tiles there would not say where
  // they go in twelve, so it is read-only. Switching is done here rather than
  // by GridStack's breakpoints so the twelve-column layout is always the one
  // the tiles were placed in, and comes back unchanged when the page widens.
  const followWidth = () => {
    const wide = container.clientWidth >= STACK_BELOW_PX;
    const columns = wide ? COLUMNS : 1;
    if (grid.getColumn() !== columns) grid.column(columns, "list");
    if (canEdit) grid.setStatic(!wide);
    container.classList.toggle("is-stacked", !wide);
  };

  async function saveLayout() {
    saveTimer = null;
    if (grid.getColumn() !== COLUMNS) return;
    const layout = grid.save(false).map(({ id, x, y, w, h }) => ({ id: Number(id), x, y, w, h }));
    try {
      const response = await fetch(urls.layout, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
        body: JSON.stringify(layout),
      });
      if (!response.ok) throw new Error(`layout not saved (${response.status})`);
    } catch (error) {
      onSaveError?.(error);
    }
  }

  // Saved after the owner moves or resizes a tile, never after a relayout of the page's own.
  if (canEdit) {
    const scheduleSave = () => {
      clearTimeout(saveTimer);
      saveTimer = setTimeout(saveLayout, SAVE_AFTER_MS);
    };
    grid.on("dragstop", scheduleSave);
    grid.on("resizestop", scheduleSave);
    container.addEventListener("keydown", (event) => moveByKey(event, scheduleSave));
  }

  // Keyboard moves: a focused tile moves one cell per arrow key, Shift+arrow
  // resizes it; an announcement says where it is now.
  const announcer = document.createElement("p");
  announcer.className = "visually-hidden";
  announcer.setAttribute("aria-live", "polite");
  announcer.id = "grid-announcer";
  container.after(announcer);

  function moveByKey(event, scheduleSave) {
    const step = KEY_STEPS[event.key];
    const item = event.target.closest?.(".grid-stack-item");
    if (!step || !item || event.target !== item.querySelector(".widget") || grid.getColumn() !== COLUMNS) return;
    if (event.altKey || event.ctrlKey || event.metaKey) return;
    event.preventDefault();
    const node = item.gridstackNode;
    const [dx, dy] = step;
    const change = event.shiftKey
      ? { w: Math.max(1, Math.min(COLUMNS - node.x, node.w + dx)), h: Math.max(1, node.h + dy) }
      : { x: Math.max(0, Math.min(COLUMNS - node.w, node.x + dx)), y: Math.max(0, node.y + dy) };
    grid.update(item, change);
    const title = item.querySelector(".widget-title").textContent;
    const { x, y, w, h } = item.gridstackNode;
    announcer.textContent = event.shiftKey
      ? `${title} resized to ${w} columns by ${h} rows.`
      : `${title} moved to column ${x + 1}, row ${y + 1}.`;
    scheduleSave();
  }

  function urlFor(pattern, id) {
    return pattern.replace(/\/0\/(delete\/)?$/, `/${id}/$1`);
  }

  /** Add the tile of `widget` ({id, title, kind, stream, x, y, w, h}); return its body element. */
  function addTile(widget, stream) {
    const item = template.content.firstElementChild.cloneNode(true);
    item.dataset.widgetId = String(widget.id);
    item.dataset.kind = widget.kind;
    item.dataset.stream = widget.stream;
    describeTile(item, widget, stream);
    const edit = item.querySelector("[data-widget-edit]");
    const remove = item.querySelector("[data-widget-delete]");
    if (edit) {
      edit.setAttribute("data-hx-get", urlFor(urls.widget_edit, widget.id));
      edit.setAttribute("data-hx-target", "#drawer-body");
    }
    if (remove) {
      remove.setAttribute("data-hx-post", urlFor(urls.widget_delete, widget.id));
      remove.setAttribute("data-hx-swap", "none");
    }
    container.append(item);
    grid.makeWidget(item, { id: String(widget.id), x: widget.x, y: widget.y, w: widget.w, h: widget.h });
    htmx.process(item);
    return item.querySelector(".widget-body");
  }

  function describeTile(item, widget, stream) {
    const title = widget.title || stream?.title || widget.stream;
    item.querySelector(".widget-title").textContent = title;
    item.querySelector(".widget-title").title = title;
    // A chart of several streams names its own and counts the others.
    const others = new Set((widget.series ?? []).map((series) => series.stream).filter((slug) => slug !== widget.stream));
    item.querySelector(".widget-stream").textContent = others.size ? `${widget.stream} +${others.size}` : widget.stream;
    const article = item.querySelector(".widget");
    article.setAttribute("aria-label", `${widget.kind_label ?? widget.kind}: ${title}`);
    article.tabIndex = 0;
    if (canEdit) article.setAttribute("aria-describedby", "grid-keys");
    item.querySelector(".widget-stream").title = [widget.stream, ...others].join(", ");
    item.querySelector("[data-widget-edit]")?.setAttribute("aria-label", `Edit ${title}`);
    item.querySelector("[data-widget-view]")?.setAttribute("aria-label", `View ${title}`);
    const remove = item.querySelector("[data-widget-delete]");
    if (remove) {
      remove.setAttribute("aria-label", `Remove ${title}`);
      remove.setAttribute("data-hx-confirm", `Remove the widget “${title}”?`);
      remove.dataset.confirmLabel = "Remove";
    }
  }

  function tile(id) {
    return container.querySelector(`.grid-stack-item[data-widget-id="${id}"]`);
  }

  /** Put the new title and stream of `widget` on its tile; return the emptied body. */
  function updateTile(widget, stream) {
    const item = tile(widget.id);
    if (!item) return null;
    item.dataset.kind = widget.kind;
    item.dataset.stream = widget.stream;
    describeTile(item, widget, stream);
    const body = item.querySelector(".widget-body");
    body.replaceChildren();
    return body;
  }

  function removeTile(id) {
    const item = tile(id);
    if (item) grid.removeWidget(item);
  }

  /** Put the tile in view, e.g. after it was added at the bottom. */
  function reveal(id) {
    tile(id)?.scrollIntoView({ behavior: "smooth", block: "nearest" });
  }

  /** Start following the page width; call once the first tiles are placed. */
  function watchWidth() {
    followWidth();
    new ResizeObserver(followWidth).observe(container);
  }

  return { grid, addTile, updateTile, removeTile, reveal, tile, watchWidth };
}
