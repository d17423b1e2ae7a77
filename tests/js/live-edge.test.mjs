import assert from "node:assert/strict";
import { test } from "node:test";

import { HOLD_MAX_MS, HOLD_MIN_MS, LiveEdge } from "../../static/js/charts/live-edge.js";
import { nearestIndex } from "../../static/js/charts/cursor.js";

const T0 = 1_700_000_000_000;

// Batches of a stream every `gap` ms, each `delay` ms late, their newest sample at the batch's time.
function feed(edge, { from = 0, count, gap, delay = 5 }) {
  for (let index = 0; index < count; index += 1) {
    const at = from + index * gap;
    edge.observe(T0 + at, at + delay);
  }
  return from + (count - 1) * gap + delay;
}

test("before any sample there is no edge", () => {
  const edge = new LiveEdge();
  assert.equal(edge.right(0), null);
  assert.equal(edge.moving(0), false);
});

test("between batches the axis moves with the clock, on the streams' time", () => {
  const edge = new LiveEdge();
  const arrived = feed(edge, { count: 20, gap: 50 });
  const newest = T0 + 19 * 50;
  assert.equal(edge.right(arrived), newest);
  // 20 ms after the last batch arrived, the axis is 20 ms further on.
  assert.equal(edge.right(arrived + 20), newest + 20);
  assert.equal(edge.moving(arrived + 20), true);
});

test("the axis runs at most the hold past the newest sample, then stops", () => {
  const edge = new LiveEdge();
  const arrived = feed(edge, { count: 20, gap: 50 });
  const newest = T0 + 19 * 50;
  assert.equal(edge.hold, HOLD_MIN_MS); // twice 50 ms is less than the least hold
  assert.equal(edge.right(arrived + 10_000), newest + HOLD_MIN_MS);
  assert.equal(edge.moving(arrived + HOLD_MIN_MS + 1), false);
});

test("the hold follows the stream's pace: twice its usual gap, within bounds", () => {
  const slow = new LiveEdge();
  feed(slow, { count: 10, gap: 1000 });
  assert.ok(Math.abs(slow.hold - 2000) < 1, `hold ${slow.hold}`);
  const rare = new LiveEdge();
  feed(rare, { count: 10, gap: 60_000 });
  assert.equal(rare.hold, HOLD_MAX_MS);
});

test("a late batch never pulls the axis back", () => {
  const edge = new LiveEdge();
  const arrived = feed(edge, { count: 20, gap: 50 });
  const before = edge.right(arrived + 40);
  // The next batch is 30 ms later than usual: its newest sample is behind where the axis got to.
  edge.observe(T0 + 20 * 50, arrived + 40 + 30);
  assert.ok(edge.right(arrived + 70) >= before);
});

test("the quickest recent batch sets the clock's offset, so a slow one does not drag the axis", () => {
  const edge = new LiveEdge();
  feed(edge, { count: 20, gap: 50, delay: 5 });
  // One batch 200 ms late.
  edge.observe(T0 + 20 * 50, 20 * 50 + 200);
  assert.equal(edge.right(20 * 50 + 200), T0 + 20 * 50 + Math.min(195, edge.hold));
});

test("halted, the axis stays where it was last drawn until the next batch", () => {
  const edge = new LiveEdge();
  const arrived = feed(edge, { count: 20, gap: 50 });
  const drawn = edge.right(arrived + 10);
  edge.halt();
  assert.equal(edge.moving(arrived + 20), false);
  assert.equal(edge.right(arrived + 30), drawn);
  edge.observe(T0 + 20 * 50, arrived + 50);
  assert.equal(edge.moving(arrived + 60), true);
  assert.ok(edge.right(arrived + 60) > drawn);
});

test("reset forgets the stream", () => {
  const edge = new LiveEdge();
  feed(edge, { count: 5, gap: 50 });
  edge.reset();
  assert.equal(edge.right(1000), null);
});

test("the cursor finds the nearest point", () => {
  assert.equal(nearestIndex([], 3), -1);
  assert.equal(nearestIndex([1, 2, 4, 8], 0), 0);
  assert.equal(nearestIndex([1, 2, 4, 8], 2.9), 1);
  assert.equal(nearestIndex([1, 2, 4, 8], 3.1), 2);
  assert.equal(nearestIndex([1, 2, 4, 8], 100), 3);
});
