import assert from "node:assert/strict";
import { test } from "node:test";

import { SampleWindow } from "../../static/js/sample-window.js";

const FIELDS = [
  { name: "temperature", unit: "°C" },
  { name: "label", unit: "" },
];
const T0 = 1_700_000_000_000;

function sample(seq, { t = T0 + seq * 1000, temperature = seq, label = "Sales", flags } = {}) {
  return { seq, t, values: { temperature, label }, ...(flags ? { flags } : {}) };
}

test("only fields that carry numbers are charted", () => {
  const window = new SampleWindow(FIELDS, 10);
  assert.equal(window.push([sample(1)]), true, "the first number announces a new field");
  assert.equal(window.push([sample(2)]), false);
  assert.deepEqual(window.numericFields(), [0]);
});

test("it keeps the newest samples up to its capacity", () => {
  const window = new SampleWindow(FIELDS, 3);
  window.push([1, 2, 3, 4, 5].map((seq) => sample(seq)));
  const { data } = window.columns([0]);
  assert.deepEqual(data, [[T0 / 1000 + 3, T0 / 1000 + 4, T0 / 1000 + 5], [3, 4, 5]]);
});

test("a seq jump breaks the line with a null point between the neighbours", () => {
  const window = new SampleWindow(FIELDS, 10);
  window.push([sample(1), sample(2), sample(5)]);
  const { data } = window.columns([0]);
  assert.deepEqual(data[1], [1, 2, null, 5]);
  assert.equal(data[0][2], (T0 + 2000 + T0 + 5000) / 2000);
});

test("a late sample fills its hole in place and the break goes away", () => {
  const window = new SampleWindow(FIELDS, 10);
  window.push([sample(1), sample(2), sample(4)]);
  window.push([sample(3)]);
  window.push([sample(3), sample(4)]);
  assert.deepEqual(window.columns([0]).data[1], [1, 2, 3, 4]);
});

test("a long silence breaks the line; the usual pace does not", () => {
  const window = new SampleWindow(FIELDS, 100);
  const steady = Array.from({ length: 20 }, (_, index) => sample(index + 1));
  window.push(steady);
  window.push([sample(21, { t: T0 + 20_000 + 60_000 })]);
  const ys = window.columns([0]).data[1];
  assert.equal(ys.filter((value) => value === null).length, 1);
  assert.equal(ys.at(-2), null);
});

test("anomalous samples are reported by their column index", () => {
  const window = new SampleWindow(FIELDS, 10);
  window.push([sample(1), sample(2, { flags: ["anomaly"] }), sample(4, { flags: ["anomaly"] })]);
  const { data, anomalies } = window.columns([0]);
  assert.deepEqual(anomalies, [1, 3]);
  assert.deepEqual(anomalies.map((index) => data[1][index]), [2, 4]);
});

test("values that are not numbers leave a null in their own column only", () => {
  const fields = [
    { name: "temperature", unit: "°C" },
    { name: "humidity", unit: "%" },
  ];
  const window = new SampleWindow(fields, 10);
  window.push([
    { seq: 1, t: T0, values: { temperature: 20, humidity: 50 } },
    { seq: 2, t: T0 + 1000, values: { temperature: "n/a", humidity: 51 } },
  ]);
  assert.deepEqual(window.columns([0, 1]).data.slice(1), [
    [20, null],
    [50, 51],
  ]);
});

test("a window in seconds keeps only what is that much older than the newest", () => {
  const window = new SampleWindow(FIELDS, 100, { maxAgeMs: 2000 });
  window.push([1, 2, 3, 4, 5].map((seq) => sample(seq)));
  assert.deepEqual(window.columns([0]).data[1], [3, 4, 5]);
});

test("older history slots in before the live samples, and nothing newer is taken", () => {
  const window = new SampleWindow(FIELDS, 100);
  window.push([sample(10), sample(11)]);
  window.prepend([{ t: T0 + 5000, values: { temperature: 5 } }, { t: T0 + 12_000, values: { temperature: 99 } }, { t: T0 + 4000, values: { temperature: 4 } }]);
  assert.deepEqual(window.columns([0]).data[1].filter((value) => value !== null), [4, 5, 10, 11]);
  assert.deepEqual(window.latestValues([0]), [11]);
});

test("buckets bring their extent as columns, and a flagged one is ringed at its extreme", () => {
  const window = new SampleWindow([{ name: "value", unit: "" }], 100);
  window.push([
    { t: 1000, values: { value: 50 }, min: { value: 45 }, max: { value: 55 }, count: 10 },
    { t: 2000, values: { value: 52 }, min: { value: 46 }, max: { value: 75 }, count: 10, flags: ["anomaly"] },
    { t: 3000, values: { value: 48 }, min: { value: 25 }, max: { value: 54 }, count: 10, flags: ["anomaly"] },
  ]);
  assert.equal(window.hasExtents, true);
  const { data, anomalies, anomalyValues } = window.columns([0], { extents: true });
  assert.deepEqual(data, [[1, 2, 3], [50, 52, 48], [45, 46, 25], [55, 75, 54]]);
  assert.deepEqual(anomalies, [1, 2]);
  assert.deepEqual(anomalyValues, [[75], [25]]);
  assert.deepEqual(window.span(), { from: 1000, to: 3000, firstSeq: null, lastSeq: null, buckets: true });
});

test("a bucket of flagged samples is one anomaly that counts them", () => {
  const window = new SampleWindow([{ name: "value", unit: "" }], 10);
  const bucket = (t, flagged) => ({ t, values: { value: 1 }, min: { value: 0 }, max: { value: 2 }, count: 10, flags: flagged ? ["anomaly"] : undefined, flagCounts: flagged ? { anomaly: flagged } : undefined });
  window.push([bucket(1000, 3), bucket(2000, 0), bucket(3000, 1)]);
  const { anomalies, anomalyCounts } = window.columns([0], { extents: true });
  assert.equal(anomalies.length, 2);
  assert.deepEqual(anomalyCounts, [3, 1]);
});

test("a reduced chart marks flagged buckets at least a marker's width apart", async () => {
  const { spacedMarks } = await import("../../static/js/charts/timeseries-plot.js");
  // Hundreds of flagged buckets a pixel apart across 600 px: about one mark per 10 px.
  const xs = Array.from({ length: 600 }, (_, index) => index);
  const marks = spacedMarks(xs, 10);
  assert.equal(marks.length, 60);
  assert.ok(marks.every((x, index) => index === 0 || x - marks[index - 1] >= 10));
  assert.deepEqual(spacedMarks([0, 3, 25, 26, 40], 10), [0, 25, 40]);
});
