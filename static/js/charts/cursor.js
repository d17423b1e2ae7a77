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
