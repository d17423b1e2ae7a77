import assert from "node:assert/strict";
import { test } from "node:test";

import { describeValue, formatNumber, formatWithUnit } from "../../static/js/format.js";

// Formatting follows the browser's locale; write expectations in en-US and
// swap in this machine's decimal separator.
const point = (1.5).toLocaleString().charAt(1);
const local = (text) => text.replaceAll(".", point);

test("numbers get decimals by their size", () => {
  assert.equal(formatNumber(0), "0");
  assert.equal(formatNumber(0.12345), local("0.123"));
  assert.equal(formatNumber(21.456), local("21.46"));
  assert.equal(formatNumber(2_500_000), new Intl.NumberFormat(undefined, { notation: "compact" }).format(2_500_000));
  assert.equal(formatNumber(Number.NaN), "–");
  assert.equal(formatNumber("12"), "–");
});

test("a unit follows its number", () => {
  assert.equal(formatWithUnit(21.5, "°C"), local("21.5 °C"));
  assert.equal(formatWithUnit(3, ""), "3");
});

test("bytes and other SI units take a prefix, never a compact number's letter", () => {
  assert.equal(formatWithUnit(6_710_000, "B/s"), local("6.71 MB/s"));
  assert.equal(formatWithUnit(512_000, "B"), "512 kB");
  assert.equal(formatWithUnit(-2_000_000_000, "bit/s"), "-2 Gbit/s");
  assert.equal(formatWithUnit(999, "B/s"), "999 B/s");
  assert.equal(describeValue(6_710_000, "B/s"), local("6.71 MB/s"));
  // Other units keep their number as it is.
  assert.equal(formatWithUnit(1500, "hPa"), local("1,500 hPa").replace(",", (1000).toLocaleString().charAt(1)));
});

test("an order book reads as its best bid and ask, either level shape", () => {
  assert.equal(describeValue({ bids: [[99.5, 2]], asks: [[100.25, 1]] }), local("bid 99.5 · ask 100.25"));
  assert.equal(
    describeValue({ bids: [{ price: 99.5, size: 2 }], asks: [{ price: 100.25, size: 1 }] }),
    local("bid 99.5 · ask 100.25"),
  );
  assert.equal(describeValue({ bids: [], asks: [] }), "bid – · ask –");
});

test("other objects read as their scalar members", () => {
  assert.equal(describeValue({ price: 101.2, size: 0.5, side: "buy", levels: [1, 2] }), local("price 101.2 · size 0.5 · side buy"));
  assert.equal(describeValue({ nested: { a: 1 } }), "–");
});

test("plain values keep their meaning", () => {
  assert.equal(describeValue(42, "%"), "42 %");
  assert.equal(describeValue("Sales"), "Sales");
  assert.equal(describeValue(true), "yes");
  assert.equal(describeValue(null), "–");
  assert.equal(describeValue([1, 2, 3]), "3 items");
});
