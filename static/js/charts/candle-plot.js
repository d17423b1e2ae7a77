// The drawing of a candlestick chart: OHLC candles built from the ticks of one
// price field in fixed buckets, on a uPlot chart. Runs in the chart worker or on
// the page, as the time series does (charts/timeseries-plot.js).

import uPlot from "../../vendor/uplot/uPlot.esm.js";
import { CandleBuilder } from "../data/candles.js";
import { formatNumber, formatTime } from "../format.js";
import { Plot } from "./plot.js";

const CANDLES_SHOWN = 60;
const MAX_CANDLES = 400;

/** The candles a chart of `config` keeps: {builder, seconds} (the page keeps the same, for its readout). */
export function candleBuilder(config) {
  let seconds = config.candle_seconds ?? 5;
  let limit = Math.ceil((config.window_seconds ?? seconds * CANDLES_SHOWN) / seconds) + 1;
  if (config.range) {
    // A long past range in short candles would be thousands of slivers.
    const span = (config.range.to - config.range.from) / 1000;
    seconds = Math.max(seconds, Math.ceil(span / 120));
    limit = Math.ceil(span / seconds) + 1;
  }
  return { builder: new CandleBuilder({ seconds, limit: Math.min(MAX_CANDLES, limit) }), seconds, limit };
}

/** Add `samples` (ticks, or history buckets with their first/last/min/max) to `builder`. */
export function addSamples(builder, field, samples) {
  for (const sample of samples) {
    const price = sample.values?.[field.name];
    if (typeof price !== "number") continue;
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
}

export class CandlePlot extends Plot {
  #field;
  #builder;
  #seconds;
  #limit;
  #candles = [];

  /** `target`, `config` and the options: as Plot's. */
  constructor(target, config, options) {
    super(target, config, options);
    this.#field = config.fields?.[0] ?? { name: "price", unit: "" };
    ({ builder: this.#builder, seconds: this.#seconds, limit: this.#limit } = candleBuilder(config));
  }

  push(batch) {
    addSamples(this.#builder, this.#field, batch);
    this.changed();
  }

  prepend(batch) {
    this.push(batch);
  }

  clear() {
    this.#builder.clear();
    this.changed();
  }

  data() {
    const candles = (this.#candles = this.#builder.candles());
    return [
      candles.map((candle) => candle.t / 1000),
      candles.map((candle) => candle.open),
      candles.map((candle) => candle.high),
      candles.map((candle) => candle.low),
      candles.map((candle) => candle.close),
    ];
  }

  // Live, the axis ends at `right` (a candle is drawn in the middle of its
  // bucket, so the newest one fits) and spans the candles kept.
  xRange(dataMin, dataMax) {
    if (dataMin == null || this.right === null) return [dataMin, dataMax];
    const right = Math.max(this.right / 1000, dataMax + this.#seconds);
    return [right - (this.#limit - 1) * this.#seconds, right];
  }

  options() {
    const palette = this.palette;
    const seconds = this.#seconds;
    const axis = {
      stroke: palette.axis,
      font: `11px ${palette.font}`,
      grid: { stroke: palette.grid, width: 1 },
      ticks: { stroke: palette.grid, width: 1, size: 4 },
    };
    const hidden = { paths: () => null, points: { show: false } };
    return {
      ...this.size,
      legend: { show: false },
      cursor: { show: false },
      scales: { x: { time: true, range: (u, min, max) => this.xRange(min, max) } },
      series: [{}, { label: "open", ...hidden }, { label: "high", ...hidden }, { label: "low", ...hidden }, { label: "close", ...hidden }],
      axes: [
        { ...axis, size: 30, space: 72, values: (u, splits) => splits.map((s) => formatTime(s * 1000, seconds < 60 ? "seconds" : "minutes")) },
        { ...axis, side: 1, size: 64, values: (u, splits) => splits.map((value) => formatNumber(value)) },
      ],
      hooks: { draw: [(u) => this.#drawCandles(u)] },
    };
  }

  #drawCandles(u) {
    const { ctx } = u;
    const palette = this.palette;
    const ratio = uPlot.pxRatio || 1;
    const bucketPx = Math.abs(u.valToPos(this.#seconds, "x", true) - u.valToPos(0, "x", true));
    const width = Math.max(1 * ratio, Math.min(14 * ratio, bucketPx * 0.7));
    ctx.save();
    ctx.beginPath();
    ctx.rect(u.bbox.left, u.bbox.top, u.bbox.width, u.bbox.height);
    ctx.clip();
    for (const candle of this.#candles) {
      const x = u.valToPos(candle.t / 1000 + this.#seconds / 2, "x", true);
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
}
