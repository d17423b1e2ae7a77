// The time series' axes: scale ranges, time tick labels and spacing, and axis
// widths fitted to their widest label (uPlot's callbacks).

import uPlot from "../../vendor/uplot/uPlot.esm.js";
import { formatTime } from "../format.js";

// A fixed bound where the config gives one, the data's own (padded) elsewhere.
export function fixedRange(low, high, min, max) {
  const [autoLow, autoHigh] = uPlot.rangeNum(low ?? 0, high ?? 1, 0.1, true);
  const from = typeof min === "number" ? min : autoLow;
  const to = typeof max === "number" ? max : Math.max(autoHigh, from + 1e-9);
  return [from, to];
}

// Tick labels as precise as the tick spacing (in seconds) needs; a past range
// of more than a day also needs the date, which the readout gives.
export function timeLabels(u, splits, axisIndex, space, increment) {
  const precision = increment < 1 ? "milliseconds" : increment < 60 ? "seconds" : "minutes";
  return splits.map((seconds) => formatTime(seconds * 1000, precision));
}

// A window of a few seconds gets labels with milliseconds, which need more room.
export function timeTickSpace(u, axisIndex, min, max) {
  return max - min < 10 ? 100 : 64;
}

// Fit the axis to its widest label, so "1,013.25 hPa" is not clipped.
export function axisSize(u, values, axisIndex, cycle) {
  const axis = u.axes[axisIndex];
  if (cycle > 1) return axis._size;
  let width = axis.ticks.size + axis.gap;
  const longest = (values ?? []).reduce((widest, label) => (label.length > widest.length ? label : widest), "");
  if (longest) width += labelWidth(u.ctx, axis.font[0], longest) / (globalThis.devicePixelRatio || 1);
  return Math.ceil(width);
}

// Measured label widths: setting a canvas font and measuring costs more than the
// rest of a redraw of a slow chart, and the labels repeat from draw to draw.
const labelWidths = new Map();

function labelWidth(ctx, font, label) {
  const key = `${font}\n${label}`;
  let width = labelWidths.get(key);
  if (width === undefined) {
    if (labelWidths.size > 500) labelWidths.clear();
    ctx.font = font;
    width = ctx.measureText(label).width;
    labelWidths.set(key, width);
  }
  return width;
}
