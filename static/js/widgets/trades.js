// Trades widget: the newest trades ({price, size, side}) on top, buys and sells in their colours.

import { formatNumber, formatTime } from "../format.js";
import { TEXT_INTERVAL_MS, drawLoop, element, liveOnlyNote } from "./common.js";

const DEFAULT_ROWS = 30;

/** config: fields [{name}] (the first holds the trade, "trade"), window_points (30). */
export function create(el, config = {}) {
  const name = config.fields?.[0]?.name ?? "trade";
  const limit = config.window_points ?? DEFAULT_ROWS;
  let trades = [];

  const root = element("div", "trades");
  const table = element("table", "data-table data-table-compact trades-table");
  const head = element("thead");
  const headRow = element("tr");
  for (const [label, className] of [["time", ""], ["price", "numeric"], ["size", "numeric"]]) headRow.append(element("th", className, label));
  head.append(headRow);
  const body = element("tbody");
  table.append(head, body);
  root.append(table);
  el.append(root);
  const historic = liveOnlyNote(root, config);

  const loop = drawLoop(() => {
    body.replaceChildren(
      ...trades.map(({ t, trade }) => {
        const row = element("tr", `trade trade-${trade.side === "sell" ? "sell" : "buy"}`);
        row.append(
          element("td", "muted", formatTime(t, "seconds")),
          element("td", "numeric trade-price", formatNumber(trade.price)),
          element("td", "numeric", formatNumber(trade.size)),
        );
        row.title = `${trade.side === "sell" ? "Sell" : "Buy"} ${trade.size} at ${trade.price}`;
        return row;
      }),
    );
  }, { minInterval: TEXT_INTERVAL_MS });

  return {
    push(samples) {
      if (historic) return;
      for (const sample of samples) {
        const trade = sample.values?.[name];
        if (trade && typeof trade.price === "number") trades.unshift({ t: sample.t, trade });
      }
      if (trades.length > limit) trades = trades.slice(0, limit);
      loop.schedule();
    },
    clear() {
      trades = [];
      loop.schedule();
    },
    resize() {},
    destroy() {
      loop.stop();
      root.remove();
    },
  };
}
