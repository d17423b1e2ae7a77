// Stat card: one figure of one field over the window (latest, average, min,
// max, standard deviation or samples per second), coloured by thresholds, over a sparkline.

import { StatWindow } from "../data/stats.js";
import { formatNumber } from "../format.js";
import { TEXT_INTERVAL_MS, element, firstField, setAttr, setText, thresholdTone } from "./common.js";
import { mountWidget } from "./scaffold.js";

// A past range is drawn from reduced history (docs/widgets.md).
export const HISTORY_FILL = "buckets";
const SVG = "http://www.w3.org/2000/svg";
const SPARK_POINTS = 120;
const LABELS = { latest: "latest", average: "average", min: "minimum", max: "maximum", stddev: "std. deviation", rate: "samples / s" };

function windowLabel(config) {
  if ((config.stat ?? "latest") === "latest") return "";
  if (config.range) return " · in range";
  if (config.window_seconds) return ` · last ${config.window_seconds} s`;
  return ` · last ${config.window_points ?? 600} pts`;
}

/** config: fields (the first is shown), stat, window_points / window_seconds, thresholds. */
export function create(el, config = {}) {
  const field = firstField(config);
  const kind = config.stat ?? "latest";
  const stats = new StatWindow(
    config.range ? { points: 1_000_000 } : { points: config.window_points, seconds: config.window_seconds },
  );
  let spark = [];

  const root = element("div", "stat-card");
  const figure = element("div", "stat-figure");
  const number = element("span", "stat-value", "–");
  const unit = element("span", "stat-unit", kind === "rate" ? "/s" : (field.unit ?? ""));
  figure.append(number, unit);
  const caption = element("div", "stat-caption", `${kind === "rate" ? "" : `${field.name} · `}${LABELS[kind] ?? kind}${windowLabel(config)}`);
  const picture = document.createElementNS(SVG, "svg");
  picture.setAttribute("class", "stat-spark");
  picture.setAttribute("viewBox", "0 0 100 24");
  picture.setAttribute("preserveAspectRatio", "none");
  picture.setAttribute("aria-hidden", "true");
  const line = document.createElementNS(SVG, "path");
  picture.append(line);
  root.append(figure, caption, picture);

  function add(sample) {
    const value = sample.values?.[field.name];
    if (typeof value !== "number") return;
    // A bucket's latest value is its last sample, not its mean.
    const latest = kind === "latest" ? (sample.last?.[field.name] ?? value) : value;
    stats.add({ t: sample.t, seq: sample.seq, value: latest, count: sample.count, min: sample.min?.[field.name], max: sample.max?.[field.name] });
    spark.push(value);
  }

  function addAll(samples) {
    for (const sample of samples) add(sample);
  }

  function render() {
    const value = stats.compute(kind);
    setText(number, value === null ? "–" : formatNumber(value));
    setAttr(root, "data-tone", kind === "rate" ? "ok" : thresholdTone(value, config.thresholds));
    if (spark.length > SPARK_POINTS) spark = spark.slice(-SPARK_POINTS);
    setAttr(line, "d", sparkPath(spark));
  }

  return mountWidget(el, root, {
    render,
    minInterval: TEXT_INTERVAL_MS,
    push: addAll,
    prepend: addAll,
    clear() {
      stats.clear();
      spark = [];
    },
    span: () => config.range ?? stats.span(),
  });
}

function sparkPath(values) {
  if (values.length < 2) return "";
  let low = Infinity;
  let high = -Infinity;
  for (const value of values) {
    low = Math.min(low, value);
    high = Math.max(high, value);
  }
  const span = high - low || 1;
  const step = 100 / (values.length - 1);
  return values
    .map((value, index) => `${index ? "L" : "M"}${(index * step).toFixed(2)} ${(22 - ((value - low) / span) * 20).toFixed(2)}`)
    .join(" ");
}
