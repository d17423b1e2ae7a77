// The cursor of a chart: a line where the pointer is and a readout of the values
// there. The chart may be drawn by the chart worker, so the page keeps its own
// copy of the data and places the cursor from where the plot is (`view`).

import { frames } from "../frames.js";

/**
 * Follow the pointer over `box`, where `chart` (a charts/host.js handle) is drawn.
 * `readoutAt(seconds)` returns the point nearest that time, {x, text, anomaly},
 * or null; `readout` is the element that shows its text. Returns the function
 * that hides the cursor.
 */
export function followPointer(box, chart, readoutAt, readout) {
  const line = document.createElement("div");
  line.className = "chart-cursor";
  line.hidden = true;
  box.append(line);
  let pointer = null; // {x, y} in the box

  function hide() {
    line.hidden = true;
    readout.hidden = true;
  }

  function show() {
    const view = chart.view();
    if (!pointer || !view || !(view.xMax > view.xMin)) return hide();
    const x = pointer.x - view.left;
    if (x < 0 || x > view.width || pointer.y < view.top || pointer.y > view.top + view.height) return hide();
    const found = readoutAt(view.xMin + (x / view.width) * (view.xMax - view.xMin));
    if (!found) return hide();
    const at = view.left + ((found.x - view.xMin) / (view.xMax - view.xMin)) * view.width;
    line.style.transform = `translateX(${Math.round(at)}px)`;
    line.style.top = `${view.top}px`;
    line.style.height = `${view.height}px`;
    line.hidden = false;
    readout.textContent = found.text;
    readout.classList.toggle("is-anomaly", Boolean(found.anomaly));
    // Keep the readout inside the plot, on the side away from the cursor.
    const onLeft = x < view.width / 2;
    readout.style.left = onLeft ? "auto" : `${view.left + 6}px`;
    readout.style.right = onLeft ? `${box.clientWidth - view.left - view.width + 6}px` : "auto";
    readout.hidden = false;
  }

  // While hovered, the worker sends where the plot is after each draw: the
  // cursor follows a chart that moves under a still pointer.
  chart.onView(() => {
    if (pointer) frames.schedule(show);
  });
  box.addEventListener("pointerleave", () => {
    pointer = null;
    chart.hover(false);
    frames.forget(show);
    hide();
  });
  box.addEventListener("pointermove", (event) => {
    const rect = box.getBoundingClientRect();
    if (!pointer) chart.hover(true);
    pointer = { x: event.clientX - rect.left, y: event.clientY - rect.top };
    frames.schedule(show);
  });
  return hide;
}

/** Return the index in ascending `xs` nearest `x`, or -1 when empty. */
export function nearestIndex(xs, x) {
  if (!xs.length) return -1;
  let low = 0;
  let high = xs.length - 1;
  while (low < high) {
    const middle = (low + high) >> 1;
    if (xs[middle] < x) low = middle + 1;
    else high = middle;
  }
  if (low > 0 && Math.abs(xs[low - 1] - x) <= Math.abs(xs[low] - x)) return low - 1;
  return low;
}

// A drag narrower than this (px) is a click, not a choice of range.
const MIN_DRAG_PX = 8;

/**
 * Let a mouse drag across the plot in `box` choose a time range, as uPlot's own
 * drag-to-select would (the chart may be drawn by the worker, so the page draws the
 * band from where the plot is). A release sends a bubbling "chart-zoom" event with
 * {from, to} in ms; the dashboard's time controls take it as a custom range.
 */
export function selectByDrag(box, chart) {
  const band = document.createElement("div");
  band.className = "chart-select";
  band.hidden = true;
  box.append(band);
  let start = null; // {x, view}

  function clampX(event, view) {
    const x = event.clientX - box.getBoundingClientRect().left - view.left;
    return Math.max(0, Math.min(view.width, x));
  }

  function secondsAt(x, view) {
    return view.xMin + (x / view.width) * (view.xMax - view.xMin);
  }

  box.addEventListener("pointerdown", (event) => {
    if (event.button !== 0 || event.pointerType === "touch") return;
    const view = chart.view();
    if (!view || !(view.xMax > view.xMin)) return;
    const rect = box.getBoundingClientRect();
    const x = event.clientX - rect.left - view.left;
    const y = event.clientY - rect.top;
    if (x < 0 || x > view.width || y < view.top || y > view.top + view.height) return;
    event.preventDefault();
    box.setPointerCapture(event.pointerId);
    start = { x, view };
    band.style.top = `${view.top}px`;
    band.style.height = `${view.height}px`;
  });
  box.addEventListener("pointermove", (event) => {
    if (!start) return;
    const x = clampX(event, start.view);
    band.style.left = `${start.view.left + Math.min(x, start.x)}px`;
    band.style.width = `${Math.abs(x - start.x)}px`;
    band.hidden = Math.abs(x - start.x) < MIN_DRAG_PX;
  });
  const finish = (event, chosen) => {
    if (!start) return;
    const { view } = start;
    const x = clampX(event, view);
    const [left, right] = [Math.min(x, start.x), Math.max(x, start.x)];
    start = null;
    band.hidden = true;
    if (!chosen || right - left < MIN_DRAG_PX) return;
    const from = Math.round(secondsAt(left, view) * 1000);
    const to = Math.round(secondsAt(right, view) * 1000);
    box.dispatchEvent(new CustomEvent("chart-zoom", { bubbles: true, detail: { from, to } }));
  };
  box.addEventListener("pointerup", (event) => finish(event, true));
  box.addEventListener("pointercancel", (event) => finish(event, false));
}
