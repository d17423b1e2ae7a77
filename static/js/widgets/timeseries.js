// Time-series widget: numeric fields of one or more streams as lines, areas, bars or
// points; y axes per unit and side; warning and critical thresholds as dashed
// lines; anomalies ringed; holes left as breaks in the line. Buckets of the
// history API are drawn as their mean inside a band from their min to their
// max, so a reduced view keeps every spike a live one shows.

import { mountChart } from "../charts/host.js";
import { followPointer, nearestIndex, selectByDrag } from "../charts/cursor.js";
import { colourOf, labelOf, seriesLabels, timeSeriesWindow } from "../charts/timeseries-plot.js";
import { formatTime, formatWithUnit } from "../format.js";
import { TEXT_INTERVAL_MS, element, readPalette } from "./common.js";
import { mountWidget } from "./scaffold.js";

// A past range is drawn from reduced history (docs/widgets.md).
export const HISTORY_FILL = "buckets";
const DEFAULT_HEIGHT = 180;

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
  // The page's own copy of what the chart draws: for the legend, the readout and the export.
  const samples = timeSeriesWindow(config);
  // Fields that have carried a number; the legend is rebuilt when there are more.
  let chartedFields = [];
  let chartedExtents = false;
  let rebuild = false;
  let resized = false;
  let palette = readPalette(el);

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

  function size() {
    return {
      width: Math.max(1, plotBox.clientWidth || el.clientWidth),
      height: Math.max(40, plotBox.clientHeight || el.clientHeight || DEFAULT_HEIGHT),
    };
  }

  const chart = mountChart(plotBox, "timeseries", config, { palette, size: size(), name: `timeseries ${config.stream ?? ""}`.trim() });
  // For the page's tests and tools: the columns drawn and their series, as uPlot takes them.
  root.chart = {
    get data() {
      return samples.columns(chartedFields, { extents: chartedExtents }).data;
    },
    get series() {
      return [{ label: "time" }, ...seriesLabels(config, chartedFields, chartedExtents).map((label) => ({ label }))];
    },
  };
  followPointer(plotBox, chart, readoutAt, readout);
  selectByDrag(plotBox, chart);

  function render() {
    if (rebuild || samples.hasExtents !== chartedExtents) {
      rebuild = false;
      chartedFields = samples.numericFields();
      chartedExtents = samples.hasExtents;
      buildLegend();
      // The legend takes its room from the plot: the canvas follows.
      resized ||= Boolean(config.legend);
    }
    if (resized) {
      resized = false;
      chart.resize(size());
    }
    updateLegend();
    empty.hidden = samples.size > 0;
  }

  function readoutAt(seconds) {
    if (!chartedFields.length) return null;
    const { data, anomalies, anomalyCounts } = samples.columns(chartedFields, { extents: chartedExtents });
    const index = nearestIndex(data[0], seconds);
    if (index < 0 || data.slice(1).every((column) => column[index] == null)) return null;
    const lines = [formatTime(data[0][index] * 1000)];
    const count = chartedFields.length;
    chartedFields.forEach((fieldIndex, column) => {
      const field = fields[fieldIndex];
      let line = `${labelOf(field)} ${formatWithUnit(data[column + 1][index], field.unit)}`;
      if (chartedExtents) {
        const low = data[1 + count + column][index];
        const high = data[1 + 2 * count + column][index];
        if (low !== high) line += ` (${formatWithUnit(low, field.unit)} – ${formatWithUnit(high, field.unit)})`;
      }
      lines.push(line);
    });
    const ring = anomalies.indexOf(index);
    const anomaly = ring >= 0;
    const flagged = anomalyCounts?.[ring] ?? 1;
    // A bucket stands for many samples: say how many of them were flagged.
    if (anomaly) lines.push(chartedExtents ? `⚠ ${flagged} flagged sample${flagged === 1 ? "" : "s"}` : "⚠ anomaly");
    return { x: data[0][index], text: lines.join("\n"), anomaly };
  }

  function buildLegend() {
    if (!config.legend) return;
    legend.replaceChildren(
      ...chartedFields.map((fieldIndex, position) => {
        const item = element("li", "legend-item");
        const swatch = element("span", "legend-swatch");
        swatch.style.background = colourOf(config, chartedFields, palette, position);
        item.append(swatch, element("span", "legend-name", labelOf(fields[fieldIndex])), element("span", "legend-value", "–"));
        return item;
      }),
    );
    if (config.legendAnomaly) appendAnomalyKey();
  }

  // The key shows the mark drawn: a ring on each flagged sample, or a reduced
  // range's triangle under each bucket that holds flagged samples.
  function appendAnomalyKey() {
    const existing = legend.querySelector(".legend-anomaly");
    if (existing) {
      existing.querySelector(".legend-ring").classList.toggle("is-bucket", chartedExtents);
      return;
    }
    const item = element("li", "legend-item legend-anomaly");
    const mark = element("span", "legend-ring");
    mark.classList.toggle("is-bucket", chartedExtents);
    item.append(mark, element("span", "legend-name", "anomaly"));
    legend.append(item);
  }

  function updateLegend() {
    if (!config.legend || !chartedFields.length) return;
    if (samples.hasAnomalies) appendAnomalyKey();
    const latest = samples.latestValues(chartedFields);
    legend.querySelectorAll(".legend-value").forEach((cell, position) => {
      const field = fields[chartedFields[position]];
      const text = formatWithUnit(latest[position], field.unit);
      if (cell.textContent !== text) cell.textContent = text;
    });
  }

  const widget = mountWidget(el, root, {
    render,
    // The chart is drawn by the chart host; the page draws the widget's text
    // (legend, "waiting") as often as the text widgets: a legend whose numbers
    // changed every frame would cost a layout every frame, and nobody reads faster.
    minInterval: TEXT_INTERVAL_MS,
    watch: {
      onResize: () => (resized = true),
      onTheme: () => {
        rebuild = true;
        palette = readPalette(el);
        chart.theme(palette);
      },
    },
    onDestroy: () => {
      plotWatch.disconnect();
      chart.destroy();
    },
    push(batch, stream) {
      if (samples.push(batch, stream)) rebuild = true;
      chart.push(batch, stream);
    },
    prepend(batch, stream) {
      if (samples.prepend(batch, stream)) rebuild = true;
      chart.prepend(batch, stream);
    },
    clear() {
      samples.clear();
      chart.clear();
    },
    halt: () => chart.halt(),
    span: () => (config.range ? { ...config.range, buckets: samples.hasExtents } : samples.span()),
  });
  // The legend's lines change with its values (a narrow tile wraps them): the
  // plot's own box is watched, so the time axis never runs under the legend.
  const plotWatch = new ResizeObserver(() => widget.resize());
  plotWatch.observe(plotBox);
  return widget;
}
