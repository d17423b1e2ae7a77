// Table widget: the last rows of a stream, newest first, one column per field.

import { describeValue, formatTime } from "../format.js";
import { TEXT_INTERVAL_MS, compactTable, element, filtered, newestFirst, rowList, scrollable, spanOf } from "./common.js";
import { mountWidget } from "./scaffold.js";

const DEFAULT_ROWS = 20;

/** config: fields [{name, unit}] as columns, window_points (20 rows), filter (data/filters.js). */
export function create(el, config = {}) {
  const limit = config.range ? 200 : (config.window_points ?? DEFAULT_ROWS);
  const fields = config.fields ?? [];
  let rows = [];

  const root = scrollable(element("div", "table-widget"), config, "Rows");
  const { table, body } = compactTable([
    { label: "time" },
    ...fields.map((field) => ({ label: field.name, className: "numeric", unit: field.unit })),
  ]);
  root.append(table);
  const keep = filtered(root, config);

  function rowOf(sample) {
    const row = element("tr");
    if (Array.isArray(sample.flags) && sample.flags.includes("anomaly")) row.classList.add("is-anomaly");
    // A past range shows raw samples too: seconds tell its rows apart, as live.
    row.append(element("td", "muted", formatTime(sample.t, "seconds")));
    for (const field of fields) {
      const value = sample.values?.[field.name];
      row.append(element("td", typeof value === "number" ? "numeric" : "", describeValue(value, "")));
    }
    return row;
  }

  const drawRows = rowList(body, rowOf);

  return mountWidget(el, root, {
    render() {
      drawRows(rows);
    },
    minInterval: TEXT_INTERVAL_MS,
    span: () => spanOf(drawRows.items),
    push(samples) {
      rows = newestFirst(rows, samples.filter(keep), limit);
    },
    clear() {
      rows = [];
    },
  });
}
