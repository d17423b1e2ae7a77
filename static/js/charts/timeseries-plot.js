// The drawing of a time series: its samples, its uPlot chart and how that chart
// is built (scales, axes, styles, min–max bands, thresholds, anomaly rings).
// It runs in the chart worker, drawing on a canvas the page handed over, or on
// the page itself where there is no worker (charts/host.js). No other DOM.

import uPlot from "../../vendor/uplot/uPlot.esm.js";
import { withAlpha } from "../colour.js";
import { formatWithUnit } from "../format.js";
import { MergedWindow } from "../merged-window.js";
import { axisSize, fixedRange, timeLabels, timeTickSpace } from "../widgets/chart-axes.js";
import { Plot } from "./plot.js";

const DEFAULT_WINDOW = 600;
// A window in seconds keeps whatever arrives in that time, up to this many points.
const SECONDS_WINDOW_CAPACITY = 100_000;

/** The samples a time series of `config` keeps (the page keeps the same, for its legend and readout). */
export function timeSeriesWindow(config) {
  const seconds = config.range ? null : config.window_seconds;
  const capacity = config.range
    ? SECONDS_WINDOW_CAPACITY
    : config.window ?? config.window_points ?? (seconds ? SECONDS_WINDOW_CAPACITY : DEFAULT_WINDOW);
  return new MergedWindow(config.fields ?? [], capacity, { maxAgeMs: seconds ? seconds * 1000 : null }, config.stream);
}

export function labelOf(field) {
  return field.label ?? field.name;
}

/** The colour of the `position`-th charted field. */
export function colourOf(config, chartedFields, palette, position) {
  const field = config.fields[chartedFields[position]];
  return field.color || (config.colors?.[field.name] ?? palette.series[position % palette.series.length]);
}

/** The chart's series labels after x: the fields, then with `extents` their minima and maxima. */
export function seriesLabels(config, chartedFields, extents) {
  const names = chartedFields.map((index) => labelOf(config.fields[index]));
  if (!extents) return names;
  return [...names, ...names.map((name) => `${name} min`), ...names.map((name) => `${name} max`)];
}

export class TimeSeriesPlot extends Plot {
  #config;
  #fields;
  #samples;
  #chartedFields = [];
  #chartedExtents = false;
  #anomalyIndices = [];
  #anomalyValues = [];

  /** `target`, `config` and the options: as Plot's. */
  constructor(target, config, options) {
    super(target, config, options);
    this.#config = config;
    this.#fields = config.fields ?? [];
    this.#samples = timeSeriesWindow(config);
  }

  push(batch, stream) {
    if (this.#samples.push(batch, stream)) this.rebuild();
    this.changed();
  }

  prepend(batch, stream) {
    if (this.#samples.prepend(batch, stream)) this.rebuild();
    this.changed();
  }

  clear() {
    this.#samples.clear();
    this.#anomalyIndices = [];
    this.#anomalyValues = [];
    this.changed();
  }

  draw(right = null) {
    // Buckets of history bring min–max bands: a chart of other series.
    if (this.chart && this.#samples.hasExtents !== this.#chartedExtents) this.rebuild();
    return super.draw(right);
  }

  ready() {
    this.#chartedFields = this.#samples.numericFields();
    this.#chartedExtents = this.#samples.hasExtents;
    return this.#chartedFields.length > 0;
  }

  data() {
    const { data, anomalies, anomalyValues } = this.#samples.columns(this.#chartedFields, { extents: this.#chartedExtents });
    this.#anomalyIndices = anomalies;
    this.#anomalyValues = anomalyValues;
    return data;
  }

  // The axis spans the window (its seconds, or what the points held span) and
  // ends at `right` while live, at the newest sample otherwise; a past range
  // spans the range.
  xRange(dataMin, dataMax) {
    const range = this.#config.range;
    if (range) return [range.from / 1000, range.to / 1000];
    if (dataMin == null) return [null, null];
    const span = this.#config.window_seconds ?? dataMax - dataMin;
    if (!(span > 0)) return [dataMin, dataMax];
    const right = this.right === null ? dataMax : Math.max(this.right / 1000, dataMax);
    return [right - span, right];
  }

  #colour(position) {
    return colourOf(this.#config, this.#chartedFields, this.palette, position);
  }

  // With sides chosen per field, one scale per side and unit; otherwise one per
  // unit, the axes alternating left and right.
  #scaleOf(fieldIndex) {
    const field = this.#fields[fieldIndex];
    const config = this.#config;
    const sidesChosen = Boolean(config.axes) || this.#fields.some((each) => each.axis === "right");
    const side = sidesChosen ? (field.axis ?? config.axes?.[field.name] ?? "left") : "";
    return `y:${side}:${field.unit ?? ""}`;
  }

  options() {
    const config = this.#config;
    const palette = this.palette;
    const charted = this.#chartedFields;
    const scales = [...new Set(charted.map((index) => this.#scaleOf(index)))];
    const axisStyle = {
      stroke: palette.axis,
      font: `11px ${palette.font}`,
      grid: { stroke: palette.grid, width: 1 },
      ticks: { stroke: palette.grid, width: 1, size: 4 },
    };
    const firstScale = this.#scaleOf(charted[0]);
    const scaleOptions = { x: { time: true, range: (u, min, max) => this.xRange(min, max) } };
    if (typeof config.min === "number" || typeof config.max === "number") {
      scaleOptions[firstScale] = { range: (u, low, high) => fixedRange(low, high, config.min, config.max) };
    }
    return {
      ...this.size,
      legend: { show: false },
      // The page draws the cursor and its readout (the worker's chart sees no pointer).
      cursor: { show: false },
      scales: scaleOptions,
      series: [{}, ...charted.map((index, position) => this.#seriesOptions(index, this.#colour(position))), ...this.#extentSeries()],
      bands: this.#extentBands(),
      axes: [
        // Sized for one line of labels: the default leaves a blank band below.
        { ...axisStyle, space: timeTickSpace, size: 30, values: timeLabels },
        ...scales.map((scale, position) => {
          const [, side, unit] = scale.split(":");
          const firstOnScale = charted.findIndex((index) => this.#scaleOf(index) === scale);
          return {
            ...axisStyle,
            // With several axes, each takes the colour of its first line.
            stroke: scales.length > 1 ? this.#colour(firstOnScale) : palette.axis,
            scale,
            side: side === "right" ? 1 : side === "left" ? 3 : position % 2 === 0 ? 3 : 1,
            grid: { ...axisStyle.grid, show: position === 0 },
            values: (u, splits) => splits.map((value) => formatWithUnit(value, unit)),
            size: axisSize,
          };
        }),
      ],
      hooks: { draw: [(u) => this.#drawThresholds(u), (u) => this.#drawAnomalies(u)] },
    };
  }

  #seriesOptions(fieldIndex, colour) {
    const style = this.#config.style ?? "line";
    const series = {
      label: labelOf(this.#fields[fieldIndex]),
      scale: this.#scaleOf(fieldIndex),
      stroke: colour,
      width: 1.5,
      points: { show: false },
    };
    if (style === "area") series.fill = withAlpha(colour, 0.18);
    if (style === "bar") {
      series.paths = uPlot.paths.bars({ size: [0.7, 24], gap: 1 });
      series.fill = withAlpha(colour, 0.55);
      series.width = 1;
    }
    if (style === "scatter") {
      series.paths = () => null;
      series.points = { show: true, size: 4, width: 1, fill: colour, stroke: colour };
    }
    return series;
  }

  // Per field, a thin line along the bucket minima and one along the maxima,
  // after the means; the band between them is filled.
  #extentSeries() {
    if (!this.#chartedExtents) return [];
    const labels = seriesLabels(this.#config, this.#chartedFields, true).slice(this.#chartedFields.length);
    return labels.map((label, index) => {
      const position = index % this.#chartedFields.length;
      return {
        label,
        scale: this.#scaleOf(this.#chartedFields[position]),
        stroke: withAlpha(this.#colour(position), 0.55),
        width: 1,
        points: { show: false },
      };
    });
  }

  #extentBands() {
    if (!this.#chartedExtents) return [];
    const count = this.#chartedFields.length;
    return this.#chartedFields.map((_, position) => ({
      series: [1 + 2 * count + position, 1 + count + position],
      fill: withAlpha(this.#colour(position), 0.22),
    }));
  }

  #drawThresholds(u) {
    const thresholds = this.#config.thresholds ?? {};
    const scale = u.series[1]?.scale;
    if (!scale) return;
    const { ctx } = u;
    const ratio = uPlot.pxRatio || 1;
    ctx.save();
    ctx.lineWidth = ratio;
    ctx.setLineDash([6 * ratio, 4 * ratio]);
    for (const [name, colour] of [
      ["warning", this.palette.warning],
      ["critical", this.palette.critical],
    ]) {
      const value = thresholds[name];
      if (typeof value !== "number") continue;
      const y = u.valToPos(value, scale, true);
      if (y < u.bbox.top || y > u.bbox.top + u.bbox.height) continue;
      ctx.strokeStyle = colour;
      ctx.beginPath();
      ctx.moveTo(u.bbox.left, y);
      ctx.lineTo(u.bbox.left + u.bbox.width, y);
      ctx.stroke();
    }
    ctx.restore();
  }

  #drawAnomalies(u) {
    if (!this.#anomalyIndices.length) return;
    const { ctx } = u;
    const ratio = uPlot.pxRatio || 1;
    ctx.save();
    ctx.beginPath();
    ctx.rect(u.bbox.left, u.bbox.top, u.bbox.width, u.bbox.height);
    ctx.clip();
    ctx.lineWidth = 2 * ratio;
    ctx.strokeStyle = this.palette.anomaly;
    ctx.fillStyle = this.palette.anomalyFill;
    if (this.#chartedExtents) {
      this.#markBuckets(u, ratio);
      ctx.restore();
      return;
    }
    this.#anomalyIndices.forEach((index, ring) => {
      const x = u.valToPos(u.data[0][index], "x", true);
      for (let series = 1; series <= this.#chartedFields.length; series += 1) {
        const value = this.#anomalyValues[ring]?.[series - 1];
        if (value == null) continue;
        ctx.beginPath();
        ctx.arc(x, u.valToPos(value, u.series[series].scale, true), 5 * ratio, 0, 2 * Math.PI);
        ctx.fill();
        ctx.stroke();
      }
    });
    ctx.restore();
  }

  // A reduced range marks each bucket holding flagged samples once, as a small
  // triangle on the plot's floor (an annotation), never a ring per value: a
  // marker closer than its own width to the last one drawn is left out.
  #markBuckets(u, ratio) {
    const { ctx } = u;
    const size = 5 * ratio;
    const floor = u.bbox.top + u.bbox.height;
    ctx.fillStyle = this.palette.anomaly;
    ctx.beginPath();
    const xs = this.#anomalyIndices.map((index) => u.valToPos(u.data[0][index], "x", true));
    for (const x of spacedMarks(xs, size * 2)) {
      ctx.moveTo(x, floor - size * 1.6);
      ctx.lineTo(x - size, floor);
      ctx.lineTo(x + size, floor);
      ctx.closePath();
    }
    ctx.fill();
  }
}

/** Return the positions of `xs` (ascending) to mark, each at least `gap` after the last one kept. */
export function spacedMarks(xs, gap) {
  const kept = [];
  for (const x of xs) if (!kept.length || x - kept.at(-1) >= gap) kept.push(x);
  return kept;
}
