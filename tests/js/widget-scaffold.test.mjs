import assert from "node:assert/strict";
import { test } from "node:test";

import { frames } from "../../static/js/frames.js";
import { mountWidget } from "../../static/js/widgets/scaffold.js";
import { FakeClock } from "./fakes.mjs";

// The page's shared frame loop runs on animation frames; here, on a fake clock.
const clock = new FakeClock();
globalThis.requestAnimationFrame = (callback) => clock.setTimeout(callback, 16);
globalThis.cancelAnimationFrame = (handle) => clock.clearTimeout(handle);
frames.useClock({ timers: clock, now: () => clock.now });

// A grid cell and a widget root, enough of the DOM for mounting and removing.
function cell() {
  const children = [];
  return {
    children,
    append(node) {
      children.push(node);
      node.remove = () => children.splice(children.indexOf(node), 1);
    },
  };
}

// A kind that counts what it was sent and what it drew.
function countingWidget(parts = {}) {
  const el = cell();
  const state = { total: 0, draws: [] };
  const widget = mountWidget(el, {}, {
    render() {
      state.draws.push(state.total);
    },
    push(samples) {
      state.total += samples.length;
    },
    clear() {
      state.total = 0;
    },
    ...parts,
  });
  return { el, state, widget };
}

test("a widget is drawn once in the next frame, with every push it got before", () => {
  const { el, state, widget } = countingWidget();
  assert.equal(el.children.length, 1);
  widget.push([1, 2]);
  widget.push([3]);
  assert.deepEqual(state.draws, []);
  clock.advance(20);
  assert.deepEqual(state.draws, [3]);
});

test("clearing a widget redraws it empty", () => {
  const { state, widget } = countingWidget();
  widget.push([1]);
  clock.advance(40); // the page draws in at most 30 frames a second
  widget.clear();
  clock.advance(40);
  assert.deepEqual(state.draws, [1, 0]);
});

test("a destroyed widget leaves its cell and is not drawn again", () => {
  const { el, state, widget } = countingWidget();
  widget.push([1]);
  widget.destroy();
  clock.advance(20);
  assert.equal(el.children.length, 0);
  assert.deepEqual(state.draws, []);
});

test("a live-only widget showing a past range ignores pushed samples", () => {
  const { state, widget } = countingWidget({ historic: true });
  widget.push([1, 2]);
  clock.advance(20);
  assert.deepEqual(state.draws, []);
  widget.clear();
  clock.advance(20);
  assert.deepEqual(state.draws, [0]);
});

test("a kind that keeps nothing from pushes ignores them, and resize without a canvas draws nothing", () => {
  const el = cell();
  const draws = [];
  const widget = mountWidget(el, {}, { render: () => draws.push("drawn"), presence() {} });
  widget.push([1]);
  widget.clear();
  widget.resize();
  clock.advance(20);
  assert.deepEqual(draws, []);
  widget.presence({ connections: 1 });
  clock.advance(20);
  assert.deepEqual(draws, ["drawn"]);
});

test("an animation asks for the next frame from its render", () => {
  const el = cell();
  let frame = 0;
  const widget = mountWidget(el, {}, {
    render(redraw) {
      frame += 1;
      if (frame < 3) redraw();
    },
    push() {},
  });
  widget.push([1]);
  clock.advance(200);
  assert.equal(frame, 3);
});

test("a misspelt part fails at once instead of being ignored", () => {
  assert.throws(() => mountWidget(cell(), {}, { render() {}, pusj() {} }), /unknown parts pusj/);
});
