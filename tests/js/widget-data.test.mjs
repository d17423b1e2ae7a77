import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { test } from "node:test";

import { CandleBuilder } from "../../static/js/data/candles.js";
import { historySamples, historyUrl } from "../../static/js/data/history.js";
import { bookDepth } from "../../static/js/data/orderbook.js";
import { widgetPlan } from "../../static/js/data/plans.js";
import { liveSpanMs, rangeFromQuery, rangeToQuery, resolveRange } from "../../static/js/data/range.js";
import { StatWindow } from "../../static/js/data/stats.js";

const T0 = 1_700_000_000_000;
// The server's table of widget kinds as the page gets it, printed by dashboards/kinds.py
// itself (it imports nothing of the project), so there is no copy to keep in step.
const ROOT = new URL("../../", import.meta.url);
const VENV_PYTHON = new URL(".venv/bin/python", ROOT);
const KINDS = JSON.parse(
  execFileSync(existsSync(VENV_PYTHON) ? VENV_PYTHON.pathname : "python3", ["-m", "dashboards.kinds"], {
    cwd: ROOT.pathname,
    encoding: "utf8",
  }),
);

test("candles take open from the first tick, close from the last, and the extremes", () => {
  const candles = new CandleBuilder({ seconds: 5 });
  for (const [offset, price] of [[0, 10], [1000, 12], [2000, 8], [4999, 11], [5000, 20]]) candles.addTick(T0 + offset, price);
  assert.deepEqual(candles.candles(), [
    { t: T0, open: 10, high: 12, low: 8, close: 11, count: 4 },
    { t: T0 + 5000, open: 20, high: 20, low: 20, close: 20, count: 1 },
  ]);
});

test("a tick that arrives late still lands as its candle's open", () => {
  const candles = new CandleBuilder({ seconds: 5 });
  candles.addTick(T0 + 3000, 11);
  candles.addTick(T0 + 1000, 9);
  const [candle] = candles.candles();
  assert.equal(candle.open, 9);
  assert.equal(candle.close, 11);
});

test("only the newest candles are kept", () => {
  const candles = new CandleBuilder({ seconds: 1, limit: 3 });
  for (let second = 0; second < 10; second += 1) candles.addTick(T0 + second * 1000, second);
  assert.deepEqual(candles.candles().map((candle) => candle.close), [7, 8, 9]);
});

test("stats over a window of points", () => {
  const stats = new StatWindow({ points: 3 });
  for (const [offset, value] of [[0, 100], [1000, 1], [2000, 2], [3000, 6]]) stats.add({ t: T0 + offset, value });
  assert.equal(stats.compute("latest"), 6);
  assert.equal(stats.compute("average"), 3);
  assert.equal(stats.compute("min"), 1);
  assert.equal(stats.compute("max"), 6);
  assert.equal(stats.compute("rate"), 1, "two samples after the first, over two seconds");
});

test("stats over seconds drop what is older than the window", () => {
  const stats = new StatWindow({ seconds: 2 });
  for (const offset of [0, 500, 2500, 3000]) stats.add({ t: T0 + offset, value: offset });
  assert.equal(stats.compute("min"), 2500);
  assert.equal(stats.size, 2);
});

test("history buckets count by their sample count in averages and rates", () => {
  const stats = new StatWindow({ points: 10 });
  stats.add({ t: T0, value: 10, count: 3, min: 5, max: 15 });
  stats.add({ t: T0 + 1000, value: 20, count: 1 });
  assert.equal(stats.compute("average"), 12.5);
  assert.equal(stats.compute("min"), 5);
  assert.equal(stats.compute("rate"), 1);
  assert.equal(stats.compute("latest"), 20);
});

test("an empty window has no figure", () => {
  assert.equal(new StatWindow().compute("average"), null);
});

test("the order book sorts each side best first and totals it", () => {
  const view = bookDepth({ bids: [[99, 1], [100, 2], [98, 3]], asks: [{ price: 102, size: 1 }, [101, 4]] }, 2);
  assert.deepEqual(view.bids, [{ price: 100, size: 2, total: 2 }, { price: 99, size: 1, total: 3 }]);
  assert.deepEqual(view.asks, [{ price: 101, size: 4, total: 4 }, { price: 102, size: 1, total: 5 }]);
  assert.equal(view.maxTotal, 5);
  assert.equal(view.spread, 1);
  assert.equal(view.mid, 100.5);
});

test("an empty or broken book has no spread", () => {
  const view = bookDepth({ bids: [["x", 1]], asks: null });
  assert.deepEqual([view.bids, view.asks, view.spread, view.maxTotal], [[], [], null, 0]);
});

test("history answers become samples with their bucket's extent, edges, count and flags", () => {
  const samples = historySamples({
    bucket_ms: 1000,
    t: [T0, T0 + 1000, T0 + 2000],
    count: [2, 0, 1],
    fields: { value: { min: [1, null, 5], max: [3, null, 5], mean: [2, null, 5], first: [3, null, 5], last: [1, null, 5] } },
    flags: { anomaly: [2, 0, 0] },
  });
  assert.deepEqual(samples, [
    { t: T0, values: { value: 2 }, min: { value: 1 }, max: { value: 3 }, first: { value: 3 }, last: { value: 1 }, count: 2, bucketMs: 1000, flags: ["anomaly"], flagCounts: { anomaly: 2 } },
    { t: T0 + 2000, values: { value: 5 }, min: { value: 5 }, max: { value: 5 }, first: { value: 5 }, last: { value: 5 }, count: 1, bucketMs: 1000 },
  ]);
  assert.equal(historyUrl("a.b", { from: 1.5, to: 10.2, points: 5 }), "/api/streams/a.b/history?from=1&to=11&points=5");
});

test("ranges resolve against now and survive the URL", () => {
  assert.equal(resolveRange("live", T0), null);
  assert.deepEqual(resolveRange("1h", T0), { from: T0 - 3_600_000, to: T0 });
  assert.equal(resolveRange("custom", T0, { from: 5, to: 1 }), null);
  assert.equal(rangeToQuery("?debug=1", "5m", null), "?debug=1&range=5m");
  assert.deepEqual(rangeFromQuery("?range=24h"), { choice: "24h" });
  assert.deepEqual(rangeFromQuery(rangeToQuery("", "custom", { from: 1, to: 2 })), { choice: "custom", from: 1, to: 2 });
  assert.deepEqual(rangeFromQuery("?range=1y"), { choice: "live" });
  assert.equal(liveSpanMs([{ window_seconds: 60 }, { window_points: 10 }, { window_seconds: 600 }]), 600_000);
  assert.equal(liveSpanMs([{}]), 300_000);
});

test("plans ask for the backfill each kind needs, within the server's limit", () => {
  const plan = (kind, config, maxBackfill) => widgetPlan(KINDS[kind], config, maxBackfill);
  assert.deepEqual(plan("timeseries", { window_points: 5000 }), { backfill: 5000, seconds: null });
  assert.deepEqual(plan("timeseries", { window_points: 50_000 }, 10_000), { backfill: 10_000, seconds: null });
  assert.deepEqual(plan("timeseries", { window_seconds: 300 }), { backfill: 2000, seconds: 300 });
  assert.deepEqual(plan("timeseries", {}), { backfill: 600, seconds: null });
  assert.deepEqual(plan("stat", { stat: "latest" }), { backfill: 1, seconds: null });
  assert.deepEqual(plan("stat", {}), { backfill: 1, seconds: null }, "a stat shows the latest value unless told");
  assert.deepEqual(plan("stat", { stat: "average", window_seconds: 60 }), { backfill: 2000, seconds: 60 });
  assert.deepEqual(plan("candlestick", { candle_seconds: 10 }), { backfill: 2000, seconds: 600 });
  assert.deepEqual(plan("candlestick", {}), { backfill: 2000, seconds: 300 });
  assert.deepEqual(plan("feed", {}), { backfill: 50, seconds: null });
  assert.deepEqual(plan("feed", { window_seconds: 60 }), { backfill: 50, seconds: null }, "rows, not seconds");
  assert.deepEqual(plan("trades", { window_points: 5 }), { backfill: 5, seconds: null });
  assert.deepEqual(plan("gauge", { window_points: 500 }), { backfill: 1, seconds: null });
  assert.deepEqual(plan("counter", {}), { backfill: 0, seconds: null });
  assert.deepEqual(widgetPlan(undefined, {}), { backfill: 0, seconds: null }, "a kind the page was not sent");
});
