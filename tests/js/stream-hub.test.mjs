import assert from "node:assert/strict";
import { test } from "node:test";

import { Emitter } from "../../static/js/live/emitter.js";
import { StreamHub } from "../../static/js/data/stream-hub.js";
import { FrameScheduler } from "../../static/js/frames.js";

class FakeClient {
  events = new Emitter();
  subscribed = [];
  unsubscribed = [];
  on(event, listener) {
    return this.events.on(event, listener);
  }
  subscribe(stream, options) {
    this.subscribed.push({ stream, ...options });
  }
  unsubscribe(stream) {
    this.unsubscribed.push(stream);
  }
  emit(event, payload) {
    this.events.emit(event, payload);
  }
}

function fakeWidget() {
  return {
    pushed: [],
    prepended: [],
    cleared: 0,
    halts: 0,
    statuses: [],
    push(samples) {
      this.pushed.push(...samples);
    },
    prepend(samples) {
      this.prepended.push(...samples);
    },
    clear() {
      this.cleared += 1;
    },
    status(running) {
      this.statuses.push(running);
    },
    halt() {
      this.halts += 1;
    },
  };
}

const T0 = 1_700_000_000_000;
const tick = () => new Promise((resolve) => setTimeout(resolve, 0));
const samples = (...seqs) => seqs.map((seq) => ({ seq, t: T0 + seq * 1000, values: { v: seq } }));

test("a stream is subscribed once, with the largest backfill its widgets need", async () => {
  const client = new FakeClient();
  const hub = new StreamHub({ client });
  hub.attach("s", fakeWidget(), { backfill: 1 });
  hub.attach("s", fakeWidget(), { backfill: 500 });
  hub.attach("t", fakeWidget(), { backfill: 0 });
  await tick();
  assert.deepEqual(client.subscribed, [{ stream: "s", backfill: 500 }, { stream: "t", backfill: 0 }]);
});

test("the backfill is capped at the server's limit", async () => {
  const client = new FakeClient();
  new StreamHub({ client, maxBackfill: 100 }).attach("s", fakeWidget(), { backfill: 5000 });
  await tick();
  assert.equal(client.subscribed[0].backfill, 100);
});

test("every widget of a stream gets its samples, status and reset", async () => {
  const client = new FakeClient();
  const hub = new StreamHub({ client });
  const first = fakeWidget();
  const second = fakeWidget();
  hub.attach("s", first, { backfill: 10 });
  hub.attach("s", second, { backfill: 10 });
  await tick();
  client.emit("subscribed", { stream: "s", seq: 0, running: true });
  client.emit("data", { stream: "s", samples: samples(1, 2) });
  client.emit("reset", { stream: "s" });
  for (const widget of [first, second]) {
    assert.deepEqual(widget.pushed.map((s) => s.seq), [1, 2]);
    assert.deepEqual(widget.statuses, [true]);
    assert.equal(widget.cleared, 1);
  }
});

test("widgets are told to stop moving when their stream is revoked or stopped, or the socket is lost", async () => {
  const client = new FakeClient();
  const hub = new StreamHub({ client });
  const revoked = fakeWidget();
  const other = fakeWidget();
  hub.attach("a", revoked, { backfill: 0 });
  hub.attach("b", other, { backfill: 0 });
  await tick();
  client.emit("unsubscribed", { type: "unsubscribed", stream: "a" });
  assert.deepEqual([revoked.halts, other.halts], [1, 0]);
  client.emit("status", { stream: "b", running: true });
  assert.equal(other.halts, 0);
  client.emit("status", { stream: "b", running: false });
  assert.equal(other.halts, 1);
  client.emit("state", { state: "connected" });
  assert.deepEqual([revoked.halts, other.halts], [1, 1]);
  client.emit("state", { state: "reconnecting" });
  assert.deepEqual([revoked.halts, other.halts], [2, 2]);
});

test("a widget added later starts from the samples the page already has", async () => {
  const client = new FakeClient();
  const hub = new StreamHub({ client });
  hub.attach("s", fakeWidget(), { backfill: 3 });
  await tick();
  client.emit("data", { stream: "s", samples: samples(1, 2, 3, 4) });
  const late = fakeWidget();
  const detach = hub.attach("s", late, { backfill: 2 });
  assert.deepEqual(late.pushed.map((s) => s.seq), [3, 4]);
  detach();
  client.emit("data", { stream: "s", samples: samples(5) });
  assert.deepEqual(late.pushed.map((s) => s.seq), [3, 4], "a detached widget gets nothing more");
});

test("a window in seconds longer than the backfill is filled from history", async () => {
  const client = new FakeClient();
  const asked = [];
  const now = T0 + 100_000;
  const fetchHistory = async (slug, range) => {
    asked.push({ slug, ...range });
    return [{ t: T0 - 50_000, values: { v: 0 }, count: 4 }, { t: T0 + 5000, values: { v: 9 }, count: 1 }];
  };
  const hub = new StreamHub({ client, fetchHistory, now: () => now });
  const widget = fakeWidget();
  hub.attach("s", widget, { backfill: 2, seconds: 300 });
  await tick();
  client.emit("subscribed", { stream: "s", seq: 99, running: true });
  client.emit("data", { stream: "s", samples: samples(98, 99) });
  await tick();
  assert.deepEqual(asked, [{ slug: "s", from: now - 300_000, to: T0 + 98_000, points: 300 }]);
  assert.deepEqual(widget.prepended.map((s) => s.t), [T0 - 50_000, T0 + 5000]);
});

test("no history is asked when the backfill covers the window", async () => {
  const client = new FakeClient();
  let asked = 0;
  const hub = new StreamHub({ client, fetchHistory: async () => ((asked += 1), []), now: () => T0 + 3000 });
  hub.attach("s", fakeWidget(), { backfill: 10, seconds: 2 });
  await tick();
  client.emit("subscribed", { stream: "s", seq: 3, running: true });
  client.emit("data", { stream: "s", samples: samples(1, 2, 3) });
  await tick();
  assert.equal(asked, 0);
});

test("releasing a stream unsubscribes it", async () => {
  const client = new FakeClient();
  const hub = new StreamHub({ client });
  hub.attach("s", fakeWidget(), { backfill: 1 });
  await tick();
  hub.release("s");
  assert.deepEqual(client.unsubscribed, ["s"]);
  assert.deepEqual(hub.streams, []);
});

test("the frame scheduler draws each widget once per frame and holds draws while paused", () => {
  const queued = [];
  const frames = new FrameScheduler({ request: (callback) => queued.push(callback), cancel: () => {}, requestAfter: 0 });
  let draws = 0;
  const draw = () => (draws += 1);
  frames.schedule(draw);
  frames.schedule(draw);
  assert.equal(queued.length, 1);
  queued.shift()();
  assert.equal(draws, 1);
  frames.pause();
  frames.schedule(draw);
  assert.equal(queued.length, 0);
  frames.resume();
  queued.shift()();
  assert.equal(draws, 2, "resuming draws what waited, once");
});
