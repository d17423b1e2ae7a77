// Order book: asks above, bids below, each level with a bar of the cumulative
// size up to it, and the spread between them.

import { bookDepth } from "../data/orderbook.js";
import { formatNumber } from "../format.js";
import { TEXT_INTERVAL_MS, element, setText } from "./common.js";
import { mountWidget } from "./scaffold.js";

/** config: fields [{name}] (the first holds the book, "book"), depth (10 levels per side). */
export function create(el, config = {}) {
  const name = config.fields?.[0]?.name ?? "book";
  const depth = config.depth ?? 10;
  let book = null;
  let bookSample = null;

  const root = element("div", "orderbook");
  const head = element("div", "book-row book-head");
  head.append(element("span", "", "price"), element("span", "", "size"), element("span", "", "total"));
  const asks = element("div", "book-side book-asks");
  const spread = element("div", "book-spread", "–");
  const bids = element("div", "book-side book-bids");
  root.append(head, asks, spread, bids);

  // A side's rows are made once and their figures changed in place: a book that
  // moves ten times a second repaints the figures that changed, not every row.
  function levelRows(container, side) {
    const rows = [];
    return (levels, maxTotal) => {
      while (rows.length < levels.length) {
        const row = element("div", `book-row book-${side}`);
        const cells = [element("span", "book-price"), element("span", ""), element("span", "muted")];
        row.append(...cells);
        container.append(row);
        rows.push({ row, cells });
      }
      while (rows.length > levels.length) rows.pop().row.remove();
      levels.forEach((level, index) => {
        const { row, cells } = rows[index];
        const depth = `${((level.total / (maxTotal || 1)) * 100).toFixed(1)}%`;
        if (row.style.getPropertyValue("--depth") !== depth) row.style.setProperty("--depth", depth);
        [level.price, level.size, level.total].forEach((value, cell) => setText(cells[cell], formatNumber(value)));
      });
    };
  }
  const showAsks = levelRows(asks, "ask");
  const showBids = levelRows(bids, "bid");

  function render() {
    if (!book) {
      showAsks([], 0);
      showBids([], 0);
      setText(spread, "Waiting for data…");
      return;
    }
    const view = bookDepth(book, depth);
    // Best ask next to the spread, so prices meet in the middle.
    showAsks([...view.asks].reverse(), view.maxTotal);
    showBids(view.bids, view.maxTotal);
    setText(spread, view.spread === null ? "–" : `spread ${formatNumber(view.spread)} · mid ${formatNumber(view.mid)}`);
  }

  return mountWidget(el, root, {
    render,
    minInterval: TEXT_INTERVAL_MS,
    push(samples) {
      for (let index = samples.length - 1; index >= 0; index -= 1) {
        const candidate = samples[index].values?.[name];
        if (candidate && (candidate.bids || candidate.asks)) {
          book = candidate;
          bookSample = samples[index];
          break;
        }
      }
    },
    clear() {
      book = null;
      bookSample = null;
    },
    span: () => (bookSample ? { from: bookSample.t, to: bookSample.t, firstSeq: bookSample.seq ?? null, lastSeq: bookSample.seq ?? null } : null),
  });
}
