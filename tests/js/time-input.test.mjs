import assert from "node:assert/strict";
import { test } from "node:test";

import { rangeLabel } from "../../static/js/board/time.js";
import { fromLocalInput, toLocalInput } from "../../static/js/data/range.js";

test("the custom range's inputs read and write 24-hour local time, whatever the locale", () => {
  const afternoon = new Date(2026, 11, 7, 18, 30, 5).getTime();
  assert.equal(toLocalInput(afternoon), "2026-12-07 18:30:05");
  assert.equal(fromLocalInput("2026-12-07 18:30:05"), afternoon);
  assert.equal(fromLocalInput(" 2026-12-7 18:30 "), afternoon - 5000);
  assert.equal(fromLocalInput("2026-12-07T18:30:05"), afternoon);
});

test("text that names no moment is refused, never rolled over into another day", () => {
  for (const text of ["", "yesterday", "2026-02-31 10:00", "2026-12-07 24:00", "2026-12-07 10:61", "2026-12-07 10:00:60", "12/07/2026, 06:30:00 PM"]) {
    assert.ok(Number.isNaN(fromLocalInput(text)), text);
  }
});

test("a range's button names the day once within a day, and to the minute across days", () => {
  const from = new Date(2026, 11, 7, 4, 23, 55).getTime();
  assert.equal(rangeLabel({ from, to: from + 20 * 60_000 }), "Dec 7, 04:23:55 – 04:43:55");
  assert.equal(rangeLabel({ from, to: from + 26 * 3600_000 }), "Dec 7, 04:23 – Dec 8, 06:23");
});
