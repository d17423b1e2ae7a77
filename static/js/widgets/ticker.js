// Ticker: a market's last price, its change and change % since the open
// coloured by direction, the volume, and when it last moved. The price
// flashes up or down for a moment when it changes.

import { formatNumber, formatTime } from "../format.js";
import { TEXT_INTERVAL_MS, element, setAttr, setText, unitOf } from "./common.js";
import { mountWidget } from "./scaffold.js";

const FLASH_MS = 600;

/** Return "up", "down" or "flat" for a change. */
export function direction(change) {
  if (typeof change !== "number" || change === 0) return "flat";
  return change > 0 ? "up" : "down";
}

/** Return a signed figure: "+12.5", "−3.1" (a true minus sign), "0". */
export function signed(value, suffix = "") {
  if (typeof value !== "number") return "–";
  const text = formatNumber(Math.abs(value));
  return `${value > 0 ? "+" : value < 0 ? "−" : ""}${text}${suffix}`;
}

/** config: fields (price, change, change_pct, volume), title. */
export function create(el, config = {}) {
  const currency = unitOf(config, "price");
  let latest = null;
  let previousPrice = null;
  let flash = null;
  let flashUntil = 0;

  const root = element("div", "ticker");
  const priceLine = element("div", "ticker-price-line");
  const price = element("span", "ticker-price", "–");
  const unit = element("span", "ticker-unit", currency);
  priceLine.append(price, unit);
  const changeLine = element("div", "ticker-change");
  const arrow = element("span", "ticker-arrow");
  arrow.setAttribute("aria-hidden", "true");
  const change = element("span", "ticker-change-value", "–");
  const percent = element("span", "ticker-change-pct", "");
  changeLine.append(arrow, change, percent);
  const facts = element("dl", "ticker-facts");
  const volume = element("dd", "", "–");
  const updated = element("time", "", "–");
  const updatedCell = element("dd", "");
  updatedCell.append(updated);
  facts.append(element("dt", "", "Vol."), volume, element("dt", "", "Updated"), updatedCell);
  root.append(priceLine, changeLine, facts);

  return mountWidget(el, root, {
    minInterval: TEXT_INTERVAL_MS,
    render(redraw) {
      if (!latest) return;
      const values = latest.values;
      setText(price, formatNumber(values.price));
      const trend = direction(values.change);
      setAttr(root, "data-direction", trend);
      setText(arrow, trend === "up" ? "▲" : trend === "down" ? "▼" : "■");
      setText(change, signed(values.change));
      setText(percent, `(${signed(values.change_pct, " %")})`);
      setText(volume, formatNumber(values.volume));
      setText(updated, formatTime(latest.t, "seconds"));
      setAttr(updated, "datetime", new Date(latest.t).toISOString());
      const flashing = flash && performance.now() < flashUntil;
      setAttr(root, "data-flash", flashing ? flash : "");
      if (flashing) redraw();
    },
    push(samples) {
      for (const sample of samples) {
        if (typeof sample.values?.price !== "number") continue;
        if (latest && sample.t < latest.t) continue;
        if (previousPrice !== null && sample.values.price !== previousPrice) {
          flash = sample.values.price > previousPrice ? "up" : "down";
          flashUntil = performance.now() + FLASH_MS;
        }
        previousPrice = sample.values.price;
        latest = sample;
      }
    },
    clear() {
      latest = null;
      previousPrice = null;
      flash = null;
    },
    span: () => (latest ? { from: latest.t, to: latest.t, firstSeq: latest.seq ?? null, lastSeq: latest.seq ?? null } : null),
  });
}
