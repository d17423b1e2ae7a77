// Gauge widget: the latest value of one field on an arc between min and max,
// coloured by the warning and critical thresholds.

import { formatNumber } from "../format.js";
import { TEXT_INTERVAL_MS, element, firstField, setAttr, setText, thresholdTone } from "./common.js";
import { mountWidget } from "./scaffold.js";

const SVG = "http://www.w3.org/2000/svg";
const SWEEP = 240;
const RADIUS = 40;
const CENTRE = { x: 50, y: 50 };

function point(angle) {
  const radians = ((angle - 90) * Math.PI) / 180;
  return { x: CENTRE.x + RADIUS * Math.cos(radians), y: CENTRE.y + RADIUS * Math.sin(radians) };
}

// An SVG arc from `from` to `to` degrees, 0 at the top, clockwise.
function arcPath(from, to) {
  const start = point(from);
  const end = point(to);
  const large = to - from > 180 ? 1 : 0;
  return `M ${start.x.toFixed(2)} ${start.y.toFixed(2)} A ${RADIUS} ${RADIUS} 0 ${large} 1 ${end.x.toFixed(2)} ${end.y.toFixed(2)}`;
}

function svg(tag, attributes) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  return node;
}

/** config: fields [{name, unit}] (the first is shown), min (0), max (100), thresholds {warning, critical}. */
export function create(el, config = {}) {
  const field = firstField(config);
  const min = typeof config.min === "number" ? config.min : 0;
  const max = typeof config.max === "number" && config.max > min ? config.max : min + 100;
  const thresholds = config.thresholds ?? {};
  let value = null;

  const root = element("div", "gauge");
  root.setAttribute("role", "meter");
  root.setAttribute("aria-valuemin", String(min));
  root.setAttribute("aria-valuemax", String(max));
  // Until the first sample the meter reads its minimum, with text saying there is none.
  root.setAttribute("aria-valuenow", String(min));
  root.setAttribute("aria-valuetext", "no data yet");
  root.setAttribute("aria-label", config.title || field.name);
  const picture = svg("svg", { viewBox: "0 0 100 86", class: "gauge-svg", "aria-hidden": "true" });
  const start = -SWEEP / 2;
  const track = svg("path", { d: arcPath(start, SWEEP / 2), class: "gauge-track" });
  const bar = svg("path", { d: arcPath(start, start + 0.01), class: "gauge-bar" });
  picture.append(track);
  for (const name of ["warning", "critical"]) {
    const at = thresholds[name];
    if (typeof at !== "number" || at <= min || at >= max) continue;
    const angle = start + ((at - min) / (max - min)) * SWEEP;
    const inner = { x: CENTRE.x + (RADIUS - 7) * Math.sin((angle * Math.PI) / 180), y: CENTRE.y - (RADIUS - 7) * Math.cos((angle * Math.PI) / 180) };
    const outer = { x: CENTRE.x + (RADIUS + 7) * Math.sin((angle * Math.PI) / 180), y: CENTRE.y - (RADIUS + 7) * Math.cos((angle * Math.PI) / 180) };
    picture.append(svg("line", { x1: inner.x, y1: inner.y, x2: outer.x, y2: outer.y, class: `gauge-mark gauge-mark-${name}` }));
  }
  picture.append(bar);
  const readout = element("div", "gauge-readout");
  const number = element("span", "gauge-value", "–");
  const unit = element("span", "gauge-unit", field.unit ?? "");
  readout.append(number, unit);
  const scale = element("div", "gauge-scale");
  scale.append(element("span", "", formatNumber(min)), element("span", "", formatNumber(max)));
  root.append(picture, readout, scale);

  function render() {
    if (value === null) {
      setText(number, "–");
      setAttr(bar, "d", arcPath(start, start + 0.01));
      setAttr(root, "data-tone", "ok");
      return;
    }
    const fraction = Math.max(0, Math.min(1, (value - min) / (max - min)));
    setAttr(bar, "d", arcPath(start, start + Math.max(0.01, fraction * SWEEP)));
    setText(number, formatNumber(value));
    setAttr(root, "data-tone", thresholdTone(value, thresholds));
    setAttr(root, "aria-valuenow", String(value));
    setAttr(root, "aria-valuetext", `${formatNumber(value)} ${field.unit ?? ""}`.trim());
  }

  return mountWidget(el, root, {
    render,
    minInterval: TEXT_INTERVAL_MS,
    push(samples) {
      for (let index = samples.length - 1; index >= 0; index -= 1) {
        const candidate = samples[index].values?.[field.name];
        if (typeof candidate === "number") {
          value = candidate;
          break;
        }
      }
    },
    clear() {
      value = null;
    },
  });
}
