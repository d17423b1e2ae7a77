// Live feed: the newest items of a stream on top, one line each.

import { describeValue, formatTime } from "../format.js";
import { TEXT_INTERVAL_MS, element, filtered, newestFirst, rowList, scrollable, spanOf } from "./common.js";
import { mountWidget } from "./scaffold.js";

const DEFAULT_ITEMS = 50;

/** config: fields [{name, unit}] shown per item, window_points (50), filter (data/filters.js). */
export function create(el, config = {}) {
  const limit = config.window_points ?? DEFAULT_ITEMS;
  const fields = config.fields ?? [];
  let items = [];

  const root = scrollable(element("div", "feed"), config, "Feed");
  const list = element("ol", "feed-list");
  list.setAttribute("aria-live", "off");
  const empty = element("p", "widget-empty", "Waiting for data…");
  root.append(empty, list);
  const keep = filtered(root, config);

  function itemOf(sample) {
    const item = element("li", "feed-item");
    if (Array.isArray(sample.flags) && sample.flags.includes("anomaly")) item.classList.add("is-anomaly");
    item.append(element("time", "feed-time", formatTime(sample.t, "seconds")));
    const text = element("span", "feed-text");
    for (const field of fields) {
      const value = sample.values?.[field.name];
      if (value === undefined) continue;
      const part = element("span", typeof value === "number" ? "feed-number" : "feed-label", describeValue(value, field.unit));
      part.title = field.name;
      text.append(part);
    }
    item.append(text);
    return item;
  }

  const drawItems = rowList(list, itemOf);

  return mountWidget(el, root, {
    render() {
      empty.hidden = items.length > 0;
      drawItems(items);
    },
    minInterval: TEXT_INTERVAL_MS,
    push(samples) {
      // A sample with none of the fields shown (a label stream's unlabelled ticks) is no item.
      const kept = samples.filter(keep);
      const shown = fields.length ? kept.filter((sample) => fields.some((field) => sample.values?.[field.name] !== undefined)) : kept;
      items = newestFirst(items, shown, limit);
    },
    clear() {
      items = [];
    },
    span: () => spanOf(drawItems.items),
  });
}
