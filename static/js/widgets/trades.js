// Trades widget: the newest trades ({price, size, side}) on top, buys and sells in their colours.

import { formatNumber, formatTime } from "../format.js";
import { TEXT_INTERVAL_MS, compactTable, element, filtered, newestFirst, rowList, scrollable, spanOf } from "./common.js";
import { mountWidget } from "./scaffold.js";

const DEFAULT_ROWS = 30;

/** config: fields [{name}] (the first holds the trade, "trade"), window_points (30), filter (side, size range). */
export function create(el, config = {}) {
  const name = config.fields?.[0]?.name ?? "trade";
  const limit = config.window_points ?? DEFAULT_ROWS;
  let trades = [];

  const root = scrollable(element("div", "trades"), config, "Trades");
  const { table, body } = compactTable(
    [{ label: "time" }, { label: "price", className: "numeric" }, { label: "size", className: "numeric" }],
    "trades-table",
  );
  root.append(table);
  const keep = filtered(root, config);

  function rowOf({ t, trade }) {
    const row = element("tr", `trade trade-${trade.side === "sell" ? "sell" : "buy"}`);
    row.append(
      element("td", "muted", formatTime(t, "seconds")),
      element("td", "numeric trade-price", formatNumber(trade.price)),
      element("td", "numeric", formatNumber(trade.size)),
    );
    row.title = `${trade.side === "sell" ? "Sell" : "Buy"} ${trade.size} at ${trade.price}`;
    return row;
  }

  const drawRows = rowList(body, rowOf);

  return mountWidget(el, root, {
    render() {
      drawRows(trades);
    },
    minInterval: TEXT_INTERVAL_MS,
    push(samples) {
      const added = [];
      for (const sample of samples.filter(keep)) {
        const trade = sample.values?.[name];
        if (trade && typeof trade.price === "number") added.push({ t: sample.t, seq: sample.seq, trade });
      }
      trades = newestFirst(trades, added, limit);
    },
    clear() {
      trades = [];
    },
    span: () => spanOf(drawRows.items),
  });
}
