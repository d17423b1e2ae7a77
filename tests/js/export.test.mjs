import assert from "node:assert/strict";
import { test } from "node:test";

import { drawnFields, exportRows, rowsToCsv, rowsToJson, unionSpans, widgetExportPlan } from "../../static/js/board/export.js";
import { sampleTest } from "../../static/js/data/filters.js";
import { MergedWindow } from "../../static/js/merged-window.js";

const T0 = 1_700_000_000_000;
const labPair = { id: 1, kind: "timeseries", stream: "sensors.lab-1", series: [{ stream: "sensors.lab-2", field: "temperature" }] };
// The config the widget module gets (board/widgets.js widgetConfig): own fields by name, series by stream and field.
const labConfig = {
  stream: "sensors.lab-1",
  fields: [
    { name: "temperature", unit: "°C" },
    { name: "sensors.lab-2|temperature", stream: "sensors.lab-2", field: "temperature", unit: "°C" },
  ],
};

function lab(seq, offset, temperature) {
  return { seq, t: T0 + offset, values: { temperature, humidity: 40, pressure: 1000 } };
}

test("a chart of two streams holds a span per stream, and its export plan covers both with only the fields drawn", () => {
  const window = new MergedWindow(labConfig.fields, 100, {}, "sensors.lab-1");
  window.push([lab(10, 0, 20), lab(11, 1000, 21)], "sensors.lab-1");
  window.push([lab(500, 500, 19), lab(501, 1500, 18), lab(502, 2500, 17)], "sensors.lab-2");
  const span = window.span();
  assert.equal(span.from, T0);
  assert.equal(span.to, T0 + 2500);
  assert.deepEqual(Object.keys(span.streams), ["sensors.lab-1", "sensors.lab-2"]);
  const plan = widgetExportPlan({ widget: labPair, config: labConfig, span });
  assert.deepEqual(plan, [
    { slug: "sensors.lab-1", fields: ["temperature"], request: { from: T0, to: T0 + 1001, firstSeq: 10, lastSeq: 11 } },
    { slug: "sensors.lab-2", fields: ["temperature"], request: { from: T0 + 500, to: T0 + 2501, firstSeq: 500, lastSeq: 502 } },
  ]);
});

test("a widget's rows: every stream, in time order, within its seqs, without the fields it does not draw", () => {
  const plan = [
    { slug: "sensors.lab-1", fields: ["temperature"], request: { from: T0, to: T0 + 1001, firstSeq: 10, lastSeq: 11 } },
    { slug: "sensors.lab-2", fields: ["temperature", "humidity"], request: { from: T0, to: T0 + 2501, firstSeq: 500, lastSeq: 501 } },
  ];
  const loaded = new Map([
    ["sensors.lab-1", [lab(10, 0, 20), lab(11, 1000, 21), lab(12, 2000, 22)]],
    ["sensors.lab-2", [lab(500, 500, 19), lab(501, 1500, 18)]],
  ]);
  const rows = exportRows(plan, loaded);
  assert.deepEqual(
    rows.map((row) => [row.stream, row.seq, Object.keys(row.values)]),
    [
      ["sensors.lab-1", 10, ["temperature"]],
      ["sensors.lab-2", 500, ["temperature", "humidity"]],
      ["sensors.lab-1", 11, ["temperature"]],
      ["sensors.lab-2", 501, ["temperature", "humidity"]],
    ],
  );
  const csv = rowsToCsv(plan, rows).trim().split("\r\n");
  assert.equal(csv[0], "stream,seq,t,time,temperature,humidity,flags");
  assert.equal(csv[1], `sensors.lab-1,10,${T0},${new Date(T0).toISOString()},20,,`);
  assert.equal(csv[2], `sensors.lab-2,500,${T0 + 500},${new Date(T0 + 500).toISOString()},19,40,`);
  const json = JSON.parse(rowsToJson(plan, rows));
  assert.deepEqual(json.streams.map((stream) => [stream.stream, stream.fields]), [["sensors.lab-1", ["temperature"]], ["sensors.lab-2", ["temperature", "humidity"]]]);
  assert.equal(json.samples.length, 4);
});

test("a filtered feed exports only the samples its filter keeps", () => {
  const labels = ["Sales", "Views", "Requests"];
  const samples = Array.from({ length: 12 }, (_, index) => ({ seq: index + 1, t: T0 + index, values: { label: labels[index % 3], value: index } }));
  const plan = [{ slug: "business.kpi", fields: ["label", "value"], request: { from: T0, to: T0 + 12, firstSeq: 1, lastSeq: 12 } }];
  const rows = exportRows(plan, new Map([["business.kpi", samples]]), sampleTest({ text: "Sales" }));
  assert.deepEqual(rows.map((row) => row.values.label), ["Sales", "Sales", "Sales", "Sales"]);
});

test("text that a spreadsheet would run is written inert; commas and quotes are quoted", () => {
  const plan = [{ slug: "s", fields: ["label"], request: { from: T0, to: T0 + 1 } }];
  const csv = rowsToCsv(plan, [{ stream: "s", seq: 1, t: T0, values: { label: '=HYPERLINK("x")' } }, { stream: "s", seq: 2, t: T0, values: { label: "a,b" } }]);
  const lines = csv.trim().split("\r\n");
  assert.ok(lines[1].includes(`"'=HYPERLINK(""x"")"`), lines[1]);
  assert.ok(lines[2].includes('"a,b"'), lines[2]);
});

test("in a past range a widget drawing buckets exports the range's raw samples; nothing drawn and no range is no file", () => {
  const range = { from: T0, to: T0 + 3_600_000 };
  const plan = widgetExportPlan({ widget: labPair, config: labConfig, span: { ...range, buckets: true } }, range);
  assert.deepEqual(plan.map((part) => [part.slug, part.request]), [["sensors.lab-1", range], ["sensors.lab-2", range]]);
  assert.equal(widgetExportPlan({ widget: labPair, config: labConfig, span: null }), null);
});

test("the dashboard's export lists every stream on screen, a further series' stream too", () => {
  const span = { from: T0, to: T0 + 10, firstSeq: 1, lastSeq: 5, streams: { "sensors.lab-1": { from: T0, to: T0 + 10, firstSeq: 1, lastSeq: 5 }, "sensors.lab-2": { from: T0 + 2, to: T0 + 8, firstSeq: 40, lastSeq: 44 } } };
  const union = unionSpans([{ widget: labPair, span }], { now: T0 + 20, fallbackMs: 1000 });
  assert.deepEqual([...union.keys()], ["sensors.lab-1", "sensors.lab-2"]);
  assert.equal(union.get("sensors.lab-2").firstSeq, 40);
});

test("the fields drawn come from the widget's config, per stream", () => {
  assert.deepEqual([...drawnFields(labConfig)], [["sensors.lab-1", ["temperature"]], ["sensors.lab-2", ["temperature"]]]);
});
