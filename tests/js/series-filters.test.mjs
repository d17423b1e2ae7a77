import assert from "node:assert/strict";
import { test } from "node:test";

import { filterFromQuery, queryWithFilter, sampleTest } from "../../static/js/data/filters.js";
import { StatWindow } from "../../static/js/data/stats.js";
import { MergedWindow } from "../../static/js/merged-window.js";

const T0 = 1_700_000_000_000;
const FIELDS = [
  { name: "temperature", unit: "°C" },
  { name: "sensors.lab-2|temperature", label: "Lab 2 · temperature", stream: "sensors.lab-2", field: "temperature", unit: "°C" },
];

function sample(seq, t, temperature, flags) {
  return { seq, t, values: { temperature }, ...(flags ? { flags } : {}) };
}

test("series of two streams are joined on time, each drawn across the other's times", () => {
  const window = new MergedWindow(FIELDS, 100, {}, "sensors.lab-1");
  assert.equal(window.push([sample(1, T0, 20), sample(2, T0 + 1000, 21)]), true);
  assert.equal(window.push([sample(7, T0 + 500, 30, ["anomaly"])], "sensors.lab-2"), true);
  assert.deepEqual(window.numericFields(), [0, 1]);
  const { data, anomalies, anomalyValues } = window.columns([0, 1]);
  assert.deepEqual(data[0], [T0 / 1000, T0 / 1000 + 0.5, T0 / 1000 + 1]);
  assert.deepEqual(data[1], [20, undefined, 21]);
  assert.deepEqual(data[2], [undefined, 30, undefined]);
  assert.deepEqual(anomalies, [1]);
  assert.deepEqual(anomalyValues, [[null, 30]]);
  assert.deepEqual(window.latestValues([0, 1]), [21, 30]);
});

test("one stream's window gives the same columns as a SampleWindow", () => {
  const window = new MergedWindow([{ name: "temperature", unit: "" }], 100, {}, "a");
  window.push([sample(1, T0, 1), sample(3, T0 + 2000, 3)]);
  const { data } = window.columns([0]);
  assert.deepEqual(data, [[T0 / 1000, T0 / 1000 + 1, T0 / 1000 + 2], [1, null, 3]]);
  const own = { from: T0, to: T0 + 2000, firstSeq: 1, lastSeq: 3, buckets: false };
  assert.deepEqual(window.span(), { ...own, streams: { a: own } });
});

test("samples of a stream the chart does not show are ignored", () => {
  const window = new MergedWindow(FIELDS, 100, {}, "sensors.lab-1");
  assert.equal(window.push([sample(1, T0, 5)], "sensors.other"), false);
  assert.equal(window.size, 0);
});

test("a filter keeps a label, a range of a field and a side", () => {
  const business = (label, value) => ({ t: T0, values: { label, value } });
  const keepSales = sampleTest({ text: "sales", field: "value", min: 10, max: 50 });
  assert.equal(keepSales(business("Sales", 20)), true);
  assert.equal(keepSales(business("Sales", 60)), false);
  assert.equal(keepSales(business("Users", 20)), false);
  const buys = sampleTest({ side: "buy", field: "trade", min: 0.5 });
  assert.equal(buys({ values: { trade: { price: 1, size: 1, side: "buy" } } }), true);
  assert.equal(buys({ values: { trade: { price: 1, size: 0.1, side: "buy" } } }), false);
  assert.equal(buys({ values: { trade: { price: 1, size: 1, side: "sell" } } }), false);
  assert.equal(sampleTest(undefined)({ values: {} }), true);
});

test("a filter goes into a page address and comes back", () => {
  const query = queryWithFilter("?range=5m", 12, { text: "Sales", field: "value", min: 10 });
  assert.equal(query, "?range=5m&f12=text%3ASales%2Cfield%3Avalue%2Cmin%3A10");
  assert.deepEqual(filterFromQuery(query, 12), { text: "Sales", field: "value", min: 10 });
  assert.equal(filterFromQuery(query, 13), null);
  assert.equal(queryWithFilter(query, 12, {}), "?range=5m");
});

test("the stat window's standard deviation counts each bucket by its samples", () => {
  const stats = new StatWindow({ points: 10 });
  for (const [t, value] of [[1, 2], [2, 4], [3, 4], [4, 4], [5, 5], [6, 5], [7, 7], [8, 9]]) stats.add({ t, value });
  assert.equal(stats.compute("stddev"), 2);
  const buckets = new StatWindow({ points: 10 });
  buckets.add({ t: 1, value: 1, count: 3 });
  buckets.add({ t: 2, value: 5, count: 1 });
  assert.equal(buckets.compute("stddev"), Math.sqrt(3));
});
