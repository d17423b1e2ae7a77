// Time-series widget: numeric fields of one or more streams as lines, areas, bars or
// points; y axes per unit and side; warning and critical thresholds as dashed
// lines; anomalies ringed; holes left as breaks in the line. Buckets of the
// history API are drawn as their mean inside a band from their min to their
// max, so a reduced view keeps every spike a live one shows.

import uPlot from "../../vendor/uplot/uPlot.esm.js";
import { formatTime, formatWithUnit } from "../format.js";
import { axisSize, fixedRange, timeLabels, timeTickSpace } from "./chart-axes.js";
import { MergedWindow } from "../merged-window.js";
import { frames } from "../frames.js";
import { COMPANY_WAIT_MS, element, readPalette, withAlpha } from "./common.js";
import { mountWidget } from "./scaffold.js";

// A past range is drawn from reduced history (docs/widgets.md).
export const HISTORY_FILL = "buckets";
const DEFAULT_WINDOW = 600;
// A window in seconds keeps whatever arrives in that time, up to this many points.
const SECONDS_WINDOW_CAPACITY = 100_000;
const DEFAULT_HEIGHT = 180;
const LEGEND_INTERVAL_MS = 100;

/**
 * Draw `config.fields` ([{name, unit}]; a further series also has `stream`,
 * `field`, `label`, `color` and `axis`) of pushed samples into `el`.
 * config: window (points, 600) or window_points / window_seconds, style
 * (line, area, bar, scatter), colors {field: "#rrggbb"}, axes {field: left|right},
 * thresholds {warning, critical}, min, max, range {from, to} (a fixed past span),
 * legend (show names and latest values), title.
 */
export function create(el, config = {}) {
  const fields = config.fields ?? [];
  const title = config.title ?? "";
  const seconds = config.range ? null : config.window_seconds;
  const capacity = config.range
    ? SECONDS_WINDOW_CAPACITY
    : config.window ?? config.window_points ?? (seconds ? SECONDS_WINDOW_CAPACITY : DEFAULT_WINDOW);
  const samples = new MergedWindow(fields, capacity, { maxAgeMs: seconds ? seconds * 1000 : null }, config.stream);
  const labelOf = (field) => field.label ?? field.name;
  const sidesChosen = Boolean(config.axes) || fields.some((field) => field.axis === "right");
  // Fields that have carried a number; the chart is rebuilt when there are more.
  let chartedFields = [];
  let chartedExtents = false;
  let anomalyIndices = [];
  let anomalyValues = [];
  let plot = null;
  let rebuild = false;
  let resized = false;
  let palette = null;
  // The legend's numbers change at most ten times a second: text that changes
  // every frame costs a layout every frame, and nobody reads faster.
  let legendShownAt = -Infinity;
  let legendTimer = null;

  const root = element("div", "timeseries");
  root.setAttribute("role", "img");
  root.setAttribute("aria-label", title ? `Chart of ${title}` : "Chart");
  const plotBox = element("div", "timeseries-plot");
  const readout = element("div", "timeseries-readout");
  readout.hidden = true;
  const empty = element("p", "timeseries-empty", config.range ? "No data in this range." : "Waiting for data…");
  const legend = element("ul", "timeseries-legend");
  legend.hidden = !config.legend;
  plotBox.append(empty, readout);
  root.append(plotBox, legend);

  function buildData() {
    const { data, anomalies, anomalyValues: rings } = samples.columns(chartedFields, { extents: chartedExtents });
    anomalyIndices = anomalies;
    anomalyValues = rings;
    return data;
  }

  function size() {
    return {
      width: Math.max(1, plotBox.clientWidth || el.clientWidth),
      height: Math.max(40, plotBox.clientHeight || el.clientHeight || DEFAULT_HEIGHT),
    };
  }

  function render() {
    if (rebuild) {
      rebuild = false;
      resized = false;
      plot?.destroy();
      plot = null;
      chartedFields = samples.numericFields();
      chartedExtents = samples.hasExtents;
      if (chartedFields.length) {
        palette = readPalette(el);
        buildLegend();
        plot = new uPlot(plotOptions(), buildData(), plotBox);
      }
      // For the page's tests and tools: the chart drawn, its data and scales.
      root.chart = plot;
    } else if (plot) {
      if (samples.hasExtents !== chartedExtents) {
        rebuild = true;
        render();
        return;
      }
      if (resized) {
        resized = false;
        plot.setSize(size());
      }
      plot.setData(buildData());
    }
    updateLegend();
    empty.hidden = samples.size > 0;
  }

  function colourOf(position) {
    const field = fields[chartedFields[position]];
    return field.color || (config.colors?.[field.name] ?? palette.series[position % palette.series.length]);
  }

  // With sides chosen per field, one scale per side and unit; otherwise one per
  // unit, the axes alternating left and right.
  function scaleOf(fieldIndex) {
    const field = fields[fieldIndex];
    const side = sidesChosen ? (field.axis ?? config.axes?.[field.name] ?? "left") : "";
    return `y:${side}:${field.unit ?? ""}`;
  }

  function plotOptions() {
    const scales = [...new Set(chartedFields.map(scaleOf))];
    const font = `11px ${palette.font}`;
    const axisStyle = {
      stroke: palette.axis,
      font,
      grid: { stroke: palette.grid, width: 1 },
      ticks: { stroke: palette.grid, width: 1, size: 4 },
    };
    const firstScale = scaleOf(chartedFields[0]);
    const scaleOptions = { x: { time: true } };
    if (config.range) scaleOptions.x.range = () => [config.range.from / 1000, config.range.to / 1000];
    if (typeof config.min === "number" || typeof config.max === "number") {
      scaleOptions[firstScale] = { range: (u, low, high) => fixedRange(low, high, config.min, config.max) };
    }
    return {
      ...size(),
      legend: { show: false },
      cursor: { points: { size: 7 }, drag: { x: false, y: false } },
      scales: scaleOptions,
      series: [{}, ...chartedFields.map((fieldIndex, position) => seriesOptions(fieldIndex, colourOf(position))), ...extentSeries()],
      bands: extentBands(),
      axes: [
        // Sized for one line of labels: the default leaves a blank band below.
        { ...axisStyle, space: timeTickSpace, size: 30, values: timeLabels },
        ...scales.map((scale, position) => {
          const unit = scale.split(":")[2];
          const side = scale.split(":")[1];
          const firstOnScale = chartedFields.findIndex((index) => scaleOf(index) === scale);
          return {
            ...axisStyle,
            // With several axes, each takes the colour of its first line.
            stroke: scales.length > 1 ? colourOf(firstOnScale) : palette.axis,
            scale,
            side: side === "right" ? 1 : side === "left" ? 3 : position % 2 === 0 ? 3 : 1,
            grid: { ...axisStyle.grid, show: position === 0 },
            values: (u, splits) => splits.map((value) => formatWithUnit(value, unit)),
            size: axisSize,
          };
        }),
      ],
      hooks: { draw: [drawThresholds, drawAnomalies], setCursor: [showReadout] },
    };
  }

  function seriesOptions(fieldIndex, colour) {
    const style = config.style ?? "line";
    const series = {
      label: labelOf(fields[fieldIndex]),
      scale: scaleOf(fieldIndex),
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
  function extentSeries() {
    if (!chartedExtents) return [];
    const edge = (bound) =>
      chartedFields.map((fieldIndex, position) => ({
        label: `${labelOf(fields[fieldIndex])} ${bound}`,
        scale: scaleOf(fieldIndex),
        stroke: withAlpha(colourOf(position), 0.55),
        width: 1,
        points: { show: false },
      }));
    return [...edge("min"), ...edge("max")];
  }

  function extentBands() {
    if (!chartedExtents) return [];
    const count = chartedFields.length;
    return chartedFields.map((_, position) => ({
      series: [1 + 2 * count + position, 1 + count + position],
      fill: withAlpha(colourOf(position), 0.22),
    }));
  }

  function drawThresholds(u) {
    const thresholds = config.thresholds ?? {};
    const scale = u.series[1]?.scale;
    if (!scale) return;
    const { ctx } = u;
    const ratio = globalThis.devicePixelRatio || 1;
    ctx.save();
    ctx.lineWidth = ratio;
    ctx.setLineDash([6 * ratio, 4 * ratio]);
    for (const [name, colour] of [
      ["warning", palette.warning],
      ["critical", palette.critical],
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

  function drawAnomalies(u) {
    if (!anomalyIndices.length) return;
    const { ctx } = u;
    const ratio = globalThis.devicePixelRatio || 1;
    ctx.save();
    ctx.beginPath();
    ctx.rect(u.bbox.left, u.bbox.top, u.bbox.width, u.bbox.height);
    ctx.clip();
    ctx.lineWidth = 2 * ratio;
    ctx.strokeStyle = palette.anomaly;
    ctx.fillStyle = palette.anomalyFill;
    anomalyIndices.forEach((index, ring) => {
      const x = u.valToPos(u.data[0][index], "x", true);
      for (let series = 1; series <= chartedFields.length; series += 1) {
        const value = anomalyValues[ring]?.[series - 1];
        if (value == null) continue;
        ctx.beginPath();
        ctx.arc(x, u.valToPos(value, u.series[series].scale, true), 5 * ratio, 0, 2 * Math.PI);
        ctx.fill();
        ctx.stroke();
      }
    });
    ctx.restore();
  }

  function showReadout(u) {
    const index = u.cursor.idx;
    if (index == null || u.data.slice(1).every((column) => column[index] == null)) {
      readout.hidden = true;
      return;
    }
    const lines = [formatTime(u.data[0][index] * 1000)];
    const count = chartedFields.length;
    chartedFields.forEach((fieldIndex, column) => {
      const field = fields[fieldIndex];
      let line = `${labelOf(field)} ${formatWithUnit(u.data[column + 1][index], field.unit)}`;
      if (chartedExtents) {
        const low = u.data[1 + count + column][index];
        const high = u.data[1 + 2 * count + column][index];
        if (low !== high) line += ` (${formatWithUnit(low, field.unit)} – ${formatWithUnit(high, field.unit)})`;
      }
      lines.push(line);
    });
    if (anomalyIndices.includes(index)) lines.push("⚠ anomaly");
    readout.textContent = lines.join("\n");
    readout.classList.toggle("is-anomaly", anomalyIndices.includes(index));
    // Keep the readout inside the plot, on the side away from the cursor.
    const plotLeft = u.over.offsetLeft;
    const plotRight = plotBox.clientWidth - plotLeft - u.over.offsetWidth;
    const cursorOnLeft = u.cursor.left < u.over.offsetWidth / 2;
    readout.style.left = cursorOnLeft ? "auto" : `${plotLeft + 6}px`;
    readout.style.right = cursorOnLeft ? `${plotRight + 6}px` : "auto";
    readout.hidden = false;
  }

  function buildLegend() {
    if (!config.legend) return;
    legend.replaceChildren(
      ...chartedFields.map((fieldIndex, position) => {
        const item = element("li", "legend-item");
        const swatch = element("span", "legend-swatch");
        swatch.style.background = colourOf(position);
        item.append(swatch, element("span", "legend-name", labelOf(fields[fieldIndex])), element("span", "legend-value", "–"));
        return item;
      }),
    );
    if (anomalyIndices.length || config.legendAnomaly) appendAnomalyKey();
  }

  function appendAnomalyKey() {
    if (legend.querySelector(".legend-anomaly")) return;
    const item = element("li", "legend-item legend-anomaly");
    item.append(element("span", "legend-ring"), element("span", "legend-name", "anomaly"));
    legend.append(item);
  }

  function updateLegend() {
    if (!config.legend || !plot) return;
    const since = performance.now() - legendShownAt;
    if (since < LEGEND_INTERVAL_MS) {
      // Drawn in a frame the page draws anyway (a timer's own change would add one).
      legendTimer ??= setTimeout(() => {
        legendTimer = null;
        frames.scheduleSoon(updateLegend, COMPANY_WAIT_MS);
      }, LEGEND_INTERVAL_MS - since);
      return;
    }
    legendShownAt = performance.now();
    if (anomalyIndices.length) appendAnomalyKey();
    const latest = samples.latestValues(chartedFields);
    legend.querySelectorAll(".legend-value").forEach((cell, position) => {
      const field = fields[chartedFields[position]];
      const text = formatWithUnit(latest[position], field.unit);
      if (cell.textContent !== text) cell.textContent = text;
    });
  }

  return mountWidget(el, root, {
    render,
    watch: {
      onResize: () => (resized = true),
      onTheme: () => (rebuild = true),
    },
    onDestroy() {
      clearTimeout(legendTimer);
      frames.forget(updateLegend);
      plot?.destroy();
    },
    push(batch, stream) {
      if (samples.push(batch, stream)) rebuild = true;
    },
    prepend(batch, stream) {
      if (samples.prepend(batch, stream)) rebuild = true;
    },
    clear() {
      samples.clear();
      anomalyIndices = [];
      anomalyValues = [];
    },
    span: () => (config.range ? { ...config.range, buckets: samples.hasExtents } : samples.span()),
  });
}
