// Candlestick widget: OHLC candles built from the ticks of one price field in
// fixed buckets (`candle_seconds`), drawn by charts/candle-plot.js (in the chart
// worker where the browser has one).

import { candleBuilder, addSamples } from "../charts/candle-plot.js";
import { followPointer, nearestIndex } from "../charts/cursor.js";
import { mountChart } from "../charts/host.js";
import { formatTime, formatWithUnit } from "../format.js";
import { TEXT_INTERVAL_MS, element, readPalette } from "./common.js";
import { mountWidget } from "./scaffold.js";

// A past range is drawn from reduced history (docs/widgets.md).
export const HISTORY_FILL = "buckets";

/** config: fields [{name, unit}] (the first is the price), candle_seconds (5), window_seconds, range. */
export function create(el, config = {}) {
  const field = config.fields?.[0] ?? { name: "price", unit: "" };
  // The page's own copy of the candles: for the readout and the export.
  const { builder, seconds } = candleBuilder(config);
  let resized = false;

  const root = element("div", "candlestick");
  root.setAttribute("role", "img");
  root.setAttribute("aria-label", `${seconds}-second candles of ${field.name}`);
  const empty = element("p", "timeseries-empty", config.range ? "No data in this range." : "Waiting for data…");
  const readout = element("div", "timeseries-readout");
  readout.hidden = true;
  root.append(empty, readout);

  function size() {
    return { width: Math.max(1, root.clientWidth), height: Math.max(40, root.clientHeight) };
  }

  const chart = mountChart(root, "candlestick", config, { palette: readPalette(el), size: size(), name: `candlestick ${config.stream ?? ""}`.trim() });
  followPointer(root, chart, readoutAt, readout);

  function render() {
    empty.hidden = builder.candles().length > 0;
    if (resized) {
      resized = false;
      chart.resize(size());
    }
  }

  function readoutAt(time) {
    const candles = builder.candles();
    // A candle is drawn in the middle of its bucket.
    const index = nearestIndex(
      candles.map((candle) => candle.t / 1000 + seconds / 2),
      time,
    );
    const candle = candles[index];
    if (!candle) return null;
    const text = [
      formatTime(candle.t, "seconds"),
      `O ${formatWithUnit(candle.open, field.unit)}`,
      `H ${formatWithUnit(candle.high, field.unit)}`,
      `L ${formatWithUnit(candle.low, field.unit)}`,
      `C ${formatWithUnit(candle.close, field.unit)}`,
      `${candle.count.toLocaleString()} ticks`,
    ].join("\n");
    return { x: candle.t / 1000 + seconds / 2, text };
  }

  function add(batch) {
    addSamples(builder, field, batch);
    chart.push(batch);
  }

  function addEarlier(batch) {
    addSamples(builder, field, batch);
    chart.prepend(batch);
  }

  return mountWidget(el, root, {
    render,
    // The chart is drawn by the chart host; the page draws the widget's text
    // (legend, "waiting"), as often as the text widgets.
    minInterval: TEXT_INTERVAL_MS,
    watch: {
      onResize: () => (resized = true),
      onTheme: () => chart.theme(readPalette(el)),
    },
    onDestroy: () => chart.destroy(),
    push: add,
    prepend: addEarlier,
    clear() {
      builder.clear();
      chart.clear();
    },
    halt: () => chart.halt(),
    // Candles hold no samples, only their times: the export is every tick in them.
    span() {
      const held = builder.candles();
      if (config.range || !held.length) return config.range ?? null;
      return { from: held[0].t, to: held.at(-1).t + builder.bucketMs - 1 };
    },
  });
}
