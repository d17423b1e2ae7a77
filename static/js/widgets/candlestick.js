// Candlestick widget: OHLC candles built from the ticks of one price field in
// fixed buckets (`candle_seconds`), drawn on a uPlot chart.

import uPlot from "../../vendor/uplot/uPlot.esm.js";
import { CandleBuilder } from "../data/candles.js";
import { formatNumber, formatTime, formatWithUnit } from "../format.js";
import { element, readPalette } from "./common.js";
import { mountWidget } from "./scaffold.js";

// A past range is drawn from reduced history (docs/widgets.md).
export const HISTORY_FILL = "buckets";
const CANDLES_SHOWN = 60;
const MAX_CANDLES = 400;

/** config: fields [{name, unit}] (the first is the price), candle_seconds (5), window_seconds, range. */
export function create(el, config = {}) {
  const field = config.fields?.[0] ?? { name: "price", unit: "" };
  let seconds = config.candle_seconds ?? 5;
  let limit = Math.ceil((config.window_seconds ?? seconds * CANDLES_SHOWN) / seconds) + 1;
  if (config.range) {
    // A long past range in short candles would be thousands of slivers.
    const span = (config.range.to - config.range.from) / 1000;
    seconds = Math.max(seconds, Math.ceil(span / 120));
    limit = Math.ceil(span / seconds) + 1;
  }
  const builder = new CandleBuilder({ seconds, limit: Math.min(MAX_CANDLES, limit) });
  let plot = null;
  let rebuild = true;
  let resized = false;
  let palette = null;
  let candles = [];

  const root = element("div", "candlestick");
  root.setAttribute("role", "img");
  root.setAttribute("aria-label", `${seconds}-second candles of ${field.name}`);
  const empty = element("p", "timeseries-empty", config.range ? "No data in this range." : "Waiting for data…");
  const readout = element("div", "timeseries-readout");
  readout.hidden = true;
  root.append(empty, readout);

  function data() {
    candles = builder.candles();
    return [
      candles.map((candle) => candle.t / 1000),
      candles.map((candle) => candle.open),
      candles.map((candle) => candle.high),
      candles.map((candle) => candle.low),
      candles.map((candle) => candle.close),
    ];
  }

  function size() {
    return { width: Math.max(1, root.clientWidth), height: Math.max(40, root.clientHeight) };
  }

  function render() {
    empty.hidden = builder.candles().length > 0;
    if (rebuild || !plot) {
      rebuild = false;
      resized = false;
      plot?.destroy();
      palette = readPalette(el);
      plot = new uPlot(options(), data(), root);
      return;
    }
    if (resized) {
      resized = false;
      plot.setSize(size());
    }
    plot.setData(data());
  }

  function options() {
    const axis = {
      stroke: palette.axis,
      font: `11px ${palette.font}`,
      grid: { stroke: palette.grid, width: 1 },
      ticks: { stroke: palette.grid, width: 1, size: 4 },
    };
    const hidden = { paths: () => null, points: { show: false } };
    return {
      ...size(),
      legend: { show: false },
      cursor: { points: { show: false }, drag: { x: false, y: false } },
      scales: { x: { time: true } },
      series: [{}, { label: "open", ...hidden }, { label: "high", ...hidden }, { label: "low", ...hidden }, { label: "close", ...hidden }],
      axes: [
        { ...axis, size: 30, space: 72, values: (u, splits) => splits.map((s) => formatTime(s * 1000, seconds < 60 ? "seconds" : "minutes")) },
        { ...axis, side: 1, size: 64, values: (u, splits) => splits.map((value) => formatNumber(value)) },
      ],
      hooks: { draw: [drawCandles], setCursor: [showReadout] },
    };
  }

  function drawCandles(u) {
    const { ctx } = u;
    const ratio = globalThis.devicePixelRatio || 1;
    const bucketPx = Math.abs(u.valToPos(seconds, "x", true) - u.valToPos(0, "x", true));
    const width = Math.max(1 * ratio, Math.min(14 * ratio, bucketPx * 0.7));
    ctx.save();
    ctx.beginPath();
    ctx.rect(u.bbox.left, u.bbox.top, u.bbox.width, u.bbox.height);
    ctx.clip();
    for (const candle of candles) {
      const x = u.valToPos(candle.t / 1000 + seconds / 2, "x", true);
      const up = candle.close >= candle.open;
      const colour = up ? palette.up : palette.down;
      const top = u.valToPos(Math.max(candle.open, candle.close), "y", true);
      const bottom = u.valToPos(Math.min(candle.open, candle.close), "y", true);
      ctx.strokeStyle = colour;
      ctx.fillStyle = colour;
      ctx.lineWidth = ratio;
      ctx.beginPath();
      ctx.moveTo(Math.round(x) + 0.5, u.valToPos(candle.high, "y", true));
      ctx.lineTo(Math.round(x) + 0.5, u.valToPos(candle.low, "y", true));
      ctx.stroke();
      ctx.fillRect(Math.round(x - width / 2), top, Math.round(width), Math.max(ratio, bottom - top));
    }
    ctx.restore();
  }

  function showReadout(u) {
    const index = u.cursor.idx;
    const candle = index == null ? null : candles[index];
    if (!candle) {
      readout.hidden = true;
      return;
    }
    readout.textContent = [
      formatTime(candle.t, "seconds"),
      `O ${formatWithUnit(candle.open, field.unit)}`,
      `H ${formatWithUnit(candle.high, field.unit)}`,
      `L ${formatWithUnit(candle.low, field.unit)}`,
      `C ${formatWithUnit(candle.close, field.unit)}`,
      `${candle.count.toLocaleString()} ticks`,
    ].join("\n");
    const cursorOnLeft = u.cursor.left < u.over.offsetWidth / 2;
    readout.style.left = cursorOnLeft ? "auto" : `${u.over.offsetLeft + 6}px`;
    readout.style.right = cursorOnLeft ? "70px" : "auto";
    readout.hidden = false;
  }

  function add(sample) {
    const price = sample.values?.[field.name];
    if (typeof price !== "number") return;
    if (sample.count !== undefined) {
      // A history bucket: its first and last samples open and close it, its extremes bound it.
      const high = sample.max?.[field.name] ?? price;
      const low = sample.min?.[field.name] ?? price;
      const open = sample.first?.[field.name] ?? price;
      const close = sample.last?.[field.name] ?? price;
      builder.addRange(sample.t, { open, high, low, close, count: sample.count });
    } else {
      builder.addTick(sample.t, price);
    }
  }

  function addAll(samples) {
    for (const sample of samples) add(sample);
  }

  return mountWidget(el, root, {
    render,
    watch: {
      onResize: () => (resized = true),
      onTheme: () => (rebuild = true),
    },
    onDestroy: () => plot?.destroy(),
    push: addAll,
    prepend: addAll,
    clear() {
      builder.clear();
    },
    // Candles hold no samples, only their times: the export is every tick in them.
    span() {
      const held = builder.candles();
      if (config.range || !held.length) return config.range ?? null;
      return { from: held[0].t, to: held.at(-1).t + builder.bucketMs - 1 };
    },
  });
}
