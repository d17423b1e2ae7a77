// Counter widget: how many samples of the stream reached this page, the number
// rolling up to each new total. The caption dates the count from the first
// sample counted, which may be history loaded with the widget.

import { formatTime } from "../format.js";
import { TEXT_INTERVAL_MS, element, setText } from "./common.js";
import { mountWidget } from "./scaffold.js";

const ROLL_MS = 600;

export function create(el, config = {}) {
  let total = 0;
  let shown = 0;
  let rollFrom = 0;
  let rollStart = 0;
  let since = null;

  const root = element("div", "counter");
  const number = element("span", "counter-value", "0");
  const caption = element("span", "counter-caption", config.range ? "samples in range" : "samples received");
  root.append(number, caption);

  function render(redraw) {
    const now = performance.now();
    const progress = Math.min(1, (now - rollStart) / ROLL_MS);
    // Ease out, so the number settles rather than stops.
    shown = rollFrom + (total - rollFrom) * (1 - (1 - progress) ** 3);
    setText(number, Math.round(shown).toLocaleString());
    if (progress < 1) redraw();
    if (since !== null && !config.range) setText(caption, `samples since ${formatTime(since, "seconds")}`);
  }

  return mountWidget(el, root, {
    render,
    minInterval: TEXT_INTERVAL_MS,
    push(samples) {
      if (since === null && samples.length) since = samples[0].t ?? Date.now();
      for (const sample of samples) total += sample.count ?? 1;
      rollFrom = shown;
      rollStart = performance.now();
    },
    clear() {
      total = 0;
      shown = 0;
      rollFrom = 0;
      since = null;
    },
  });
}
