// The part of a widget that every kind shares: it is mounted into its cell,
// redrawn at most once a frame after each update, and taken down the same way.
// A kind says only what it keeps, how it draws it and how an update changes it.

import { drawLoop, watchLayout } from "./common.js";

const UPDATES = ["push", "prepend", "presence", "clear", "halt"];

/**
 * Append `root` to `el` and return the widget's interface,
 * {push, clear, resize, destroy} and, where the kind gives them, prepend, presence and halt.
 *
 * parts:
 * - `render(redraw)` draws the widget's state; `redraw()` asks for one more
 *   frame (an animation in progress).
 * - `push`, `prepend`, `presence`, `clear` change the state; each is followed
 *   by a redraw. A kind without `push` or `clear` ignores those calls.
 * - `halt` says no samples are coming for now (the stream was revoked or
 *   stopped, the socket lost): a live chart stops moving with the clock.
 * - `minInterval` (ms) spaces the redraws out, as in drawLoop.
 * - `watch` {onResize, onTheme}: a canvas widget redrawn when its box changes
 *   size or the theme switches; `resize()` then counts as a change of size.
 * - `historic`: the widget shows live data only and has a past range, so it
 *   ignores pushed samples (its note says so).
 * - `onDestroy()` frees what the kind holds beyond its root (a chart, a timer).
 * - `span()` returns what it shows, {from, to, firstSeq, lastSeq} (t in ms,
 *   seq of its oldest and newest sample), or null: its export is exactly that.
 */
export function mountWidget(el, root, { render, minInterval = 0, watch = null, historic = false, onDestroy = () => {}, span = null, ...updates }) {
  const unknown = Object.keys(updates).filter((name) => !UPDATES.includes(name));
  if (unknown.length) throw new TypeError(`mountWidget: unknown parts ${unknown.join(", ")}`);
  el.append(root);
  const loop = drawLoop(() => render(redraw), { minInterval });
  const stopWatching = watch ? watchLayout(el, loop, watch) : () => {};

  function redraw() {
    loop.schedule();
  }

  const widget = {
    push() {},
    clear() {},
    resize() {
      if (!watch) return;
      watch.onResize();
      redraw();
    },
    span: () => span?.() ?? null,
    destroy() {
      loop.stop();
      stopWatching();
      onDestroy();
      root.remove();
    },
  };
  for (const name of UPDATES) {
    const update = updates[name];
    if (!update) continue;
    widget[name] = (...args) => {
      update(...args);
      redraw();
    };
  }
  if (historic) widget.push = () => {};
  return widget;
}
