import assert from "node:assert/strict";
import { test } from "node:test";

import { LiveClient } from "../../static/js/live.js";
import { ErrorLog, SampleRate, closeError, formatDuration, panelState } from "../../static/js/live/panel.js";
import { FakeClock, fakeWebSocketClass } from "./fakes.mjs";

test("the client counts frames and samples each way, subscriptions and uptime", () => {
  const clock = new FakeClock();
  const { FakeWebSocket, sockets } = fakeWebSocketClass();
  const client = new LiveClient({ url: "ws://x/ws/live/", WebSocket: FakeWebSocket, setTimeout: clock.setTimeout, clearTimeout: clock.clearTimeout, now: () => clock.now, random: () => 0.5 });
  client.connect();
  sockets[0].open();
  client.subscribe("a");
  client.subscribe("b");
  sockets[0].receive({ type: "subscribed", stream: "a", fields: [], running: true, seq: 0 });
  sockets[0].receive({ type: "data", stream: "a", samples: [1, 2, 3].map((seq) => ({ seq, t: seq, values: {} })) });
  clock.advance(2500);
  const stats = client.stats;
  assert.equal(stats.received, 2, "two frames");
  assert.equal(stats.samples, 3, "three samples");
  assert.equal(stats.subscriptions, 2);
  assert.equal(stats.sent >= 2, true);
  assert.equal(stats.samplesSent, 0);
  assert.equal(stats.uptime, 2500);
});

test("a connection that ends for a reason is the panel's error state", () => {
  assert.equal(panelState({ state: "connected" }), "connected");
  assert.equal(panelState({ state: "disconnected", code: 4029 }), "error");
  assert.equal(panelState({ state: "disconnected", code: 1000 }), "disconnected");
  assert.equal(panelState({ state: "reconnecting", code: 1006, opened: false, delay: 500 }), "error");
  assert.equal(panelState({ state: "reconnecting", code: 1006, opened: true, delay: 500 }), "reconnecting");
  assert.equal(panelState({ state: "closed" }), "disconnected");
  assert.deepEqual(closeError({ state: "disconnected", code: 4029, reason: "too many" }, 5), { t: 5, code: "close 4029", message: "too many" });
  assert.equal(closeError({ state: "connected" }, 5), null);
});

test("the error list keeps the newest fifty and clears", () => {
  const log = new ErrorLog();
  for (let index = 0; index < 60; index += 1) log.add({ t: index, code: "x", message: String(index) });
  assert.equal(log.items.length, 50);
  assert.equal(log.items[0].message, "59");
  log.clear();
  assert.deepEqual(log.items, []);
});

test("figures read as people say them", () => {
  assert.equal(formatDuration(12_400), "12 s");
  assert.equal(formatDuration(125_000), "2 min 5 s");
  assert.equal(formatDuration(3_840_000), "1 h 4 min");
  const rate = new SampleRate();
  assert.equal(rate.next(100, 0), 0);
  assert.equal(rate.next(300, 1000), 200);
});
