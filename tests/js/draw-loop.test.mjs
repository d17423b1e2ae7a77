import assert from "node:assert/strict";
import { test } from "node:test";

import { REQUEST_AFTER_MS, FrameScheduler } from "../../static/js/frames.js";
import { COMPANY_WAIT_MS, TEXT_INTERVAL_MS, drawLoop } from "../../static/js/widgets/common.js";
import { FakeClock } from "./fakes.mjs";

const FRAME_MS = 1000 / 60;

// A page's frame loop on a fake clock: animation frames every ~16.7 ms.
function page() {
  const clock = new FakeClock();
  clock.start = clock.now; // vsync: animation frames fall every FRAME_MS from here
  const scheduler = new FrameScheduler({
    request: (callback) => clock.setTimeout(callback, FRAME_MS - ((clock.now - clock.start) % FRAME_MS)),
    cancel: (handle) => clock.clearTimeout(handle),
    timers: clock,
    now: () => clock.now,
  });
  return { clock, scheduler };
}

// A widget whose render records when it drew and what state it saw.
function widget({ clock, scheduler }, minInterval) {
  const state = { value: null };
  const draws = [];
  const loop = drawLoop(() => draws.push({ at: clock.now, value: state.value }), { minInterval, scheduler, timers: clock, now: () => clock.now });
  return {
    draws,
    loop,
    update(value) {
      state.value = value;
      loop.schedule();
    },
  };
}

test("without minInterval a widget draws in every other frame (30 a second), however often it is asked", () => {
  const env = page();
  const chart = widget(env, 0);
  for (let ms = 0; ms < 1000; ms += 2) {
    chart.update(ms);
    env.clock.advance(2);
  }
  env.clock.advance(100);
  assert.ok(chart.draws.length >= 29 && chart.draws.length <= 32, `${chart.draws.length} draws`);
  const gaps = chart.draws.slice(1).map((draw, index) => draw.at - chart.draws[index].at);
  assert.ok(Math.min(...gaps) >= 2 * FRAME_MS - 2 && Math.max(...gaps) <= 2 * FRAME_MS + 2, `gaps ${gaps}`);
  assert.equal(chart.draws.at(-1).value, 998);
});

test("widgets asking in the same moment are drawn in the same frame", () => {
  const env = page();
  const chart = widget(env, 0);
  const text = widget(env, TEXT_INTERVAL_MS);
  for (let ms = 0; ms < 1000; ms += 2) {
    chart.update(ms);
    text.update(ms);
    env.clock.advance(2);
  }
  const chartFrames = new Set(chart.draws.map((draw) => draw.at));
  assert.ok(text.draws.every((draw) => chartFrames.has(draw.at)), "text drawn outside the chart's frames");
});

test("with minInterval a widget draws at most once per interval", () => {
  const env = page();
  const text = widget(env, TEXT_INTERVAL_MS);
  // An update every 2 ms for two seconds: 1,000 updates.
  for (let ms = 0; ms < 2000; ms += 2) {
    text.update(ms);
    env.clock.advance(2);
  }
  env.clock.advance(500);
  const gaps = text.draws.slice(1).map((draw, index) => draw.at - text.draws[index].at);
  // The first interval ends at the page's next slot (at least half an interval
  // on); after that, one interval apart.
  assert.ok(gaps[0] >= TEXT_INTERVAL_MS / 2, `gaps ${gaps}`);
  assert.ok(Math.min(...gaps.slice(1)) >= TEXT_INTERVAL_MS, `gaps ${gaps}`);
  // Still drawn steadily, not starved: alone on the page, once per interval plus
  // the wait for company and a frame (ten to six times a second).
  assert.ok(text.draws.length >= 11 && text.draws.length <= 21, `${text.draws.length} draws`);
  assert.ok(Math.max(...gaps) <= TEXT_INTERVAL_MS + COMPANY_WAIT_MS + 3 * FRAME_MS, `gaps ${gaps}`);
});

test("text widgets that change all the time are drawn in the same frames", () => {
  const env = page();
  const first = widget(env, TEXT_INTERVAL_MS);
  const second = widget(env, TEXT_INTERVAL_MS);
  // Their updates start at different moments and keep coming every 7 and 11 ms.
  first.update(0);
  env.clock.advance(37);
  second.update(0);
  for (let ms = 0; ms < 2000; ms += 1) {
    if (ms % 7 === 0) first.update(ms);
    if (ms % 11 === 0) second.update(ms);
    env.clock.advance(1);
  }
  const late = (draws) => draws.filter((draw) => draw.at > env.clock.now - 1500).map((draw) => draw.at);
  assert.deepEqual(late(first.draws), late(second.draws));
});

test("the last update is drawn after the interval, not dropped", () => {
  const env = page();
  const text = widget(env, TEXT_INTERVAL_MS);
  text.update("first");
  env.clock.advance(20);
  assert.deepEqual(text.draws.map((draw) => draw.value), ["first"]);

  // Updates inside the interval wait; the newest state is the one drawn.
  text.update("second");
  env.clock.advance(10);
  text.update("third");
  env.clock.advance(50);
  assert.equal(text.draws.length, 1);
  env.clock.advance(TEXT_INTERVAL_MS + COMPANY_WAIT_MS);
  assert.deepEqual(text.draws.map((draw) => draw.value), ["first", "third"]);

  // Nothing more arrives: no further draws, and no timers left running.
  env.clock.advance(1000);
  assert.equal(text.draws.length, 2);
  assert.deepEqual(env.clock.pendingDelays(), []);
});

test("an update after a quiet spell is drawn in the next frame", () => {
  const env = page();
  const text = widget(env, TEXT_INTERVAL_MS);
  text.update(1);
  env.clock.advance(500);
  text.update(2);
  env.clock.advance(FRAME_MS);
  assert.deepEqual(text.draws.map((draw) => draw.value), [1, 2]);
});

test("a render that asks for its next step waits for the interval too", () => {
  const env = page();
  const draws = [];
  let steps = 5;
  const loop = drawLoop(
    () => {
      draws.push(env.clock.now);
      steps -= 1;
      if (steps > 0) loop.schedule();
    },
    { minInterval: TEXT_INTERVAL_MS, scheduler: env.scheduler, timers: env.clock, now: () => env.clock.now },
  );
  loop.schedule();
  env.clock.advance(2000);
  assert.equal(draws.length, 5);
  const gaps = draws.slice(1).map((at, index) => at - draws[index]);
  assert.ok(Math.min(...gaps) >= TEXT_INTERVAL_MS, `gaps ${gaps}`);
});

test("paused, the throttled redraw is held and drawn once on resume", () => {
  const env = page();
  const text = widget(env, TEXT_INTERVAL_MS);
  text.update("before");
  env.clock.advance(20);
  env.scheduler.pause();
  text.update("while paused");
  text.update("latest");
  env.clock.advance(1000);
  assert.equal(text.draws.length, 1);
  env.scheduler.resume();
  env.clock.advance(20);
  assert.deepEqual(text.draws.map((draw) => draw.value), ["before", "latest"]);
});

test("whoever watches the pause is told of each pause and resume until it stops watching", () => {
  const { scheduler } = page();
  const told = [];
  const stop = scheduler.watchPause((paused) => told.push(paused));
  scheduler.pause();
  scheduler.resume();
  stop();
  scheduler.pause();
  assert.deepEqual(told, [true, false]);
});

test("a stopped loop never draws again and leaves no timer behind", () => {
  const env = page();
  const text = widget(env, TEXT_INTERVAL_MS);
  text.update(1);
  env.clock.advance(20);
  text.update(2);
  text.loop.stop();
  env.clock.advance(1000);
  text.update(3);
  env.clock.advance(1000);
  assert.deepEqual(text.draws.map((draw) => draw.value), [1]);
  assert.deepEqual(env.clock.pendingDelays(), []);
});
