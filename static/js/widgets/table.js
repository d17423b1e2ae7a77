// Table widget: the last rows of a stream, newest first, one column per field.

import { describeValue, formatTime } from "../format.js";
import { TEXT_INTERVAL_MS, drawLoop, element } from "./common.js";

const DEFAULT_ROWS = 20;

/** config: fields [{name, unit}] as columns, window_points (20 rows). */
export function create(el, config = {}) {
  const limit = config.range ? 200 : (config.window_points ?? DEFAULT_ROWS);
  const fields = config.fields ?? [];
  let rows = [];

  const root = element("div", "table-widget");
  const table = element("table", "data-table data-table-compact");
  const head = element("thead");
  const headRow = element("tr");
  headRow.append(element("th", "", "time"));
  for (const field of fields) {
    const cell = element("th", "numeric", field.name);
    if (field.unit) cell.append(element("span", "unit", ` ${field.unit}`));
    headRow.append(cell);
  }
  head.append(headRow);
  const body = element("tbody");
  table.append(head, body);
  root.append(table);
  el.append(root);

  const loop = drawLoop(() => {
    body.replaceChildren(
      ...rows.map((sample) => {
        const row = element("tr");
        if (Array.isArray(sample.flags) && sample.flags.includes("anomaly")) row.classList.add("is-anomaly");
        row.append(element("td", "muted", formatTime(sample.t, config.range ? "minutes" : "seconds")));
        for (const field of fields) {
          const value = sample.values?.[field.name];
          row.append(element("td", typeof value === "number" ? "numeric" : "", describeValue(value, "")));
        }
        return row;
      }),
    );
  }, { minInterval: TEXT_INTERVAL_MS });

  return {
    push(samples) {
      for (const sample of samples) rows.unshift(sample);
      if (rows.length > limit) rows = rows.slice(0, limit);
      loop.schedule();
    },
    clear() {
      rows = [];
      loop.schedule();
    },
    resize() {},
    destroy() {
      loop.stop();
      root.remove();
    },
  };
}
