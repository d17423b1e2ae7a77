// Order book: asks above, bids below, each level with a bar of the cumulative
// size up to it, and the spread between them.

import { bookDepth } from "../data/orderbook.js";
import { formatNumber } from "../format.js";
import { TEXT_INTERVAL_MS, element } from "./common.js";
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

  function levelRow(level, maxTotal, side) {
    const row = element("div", `book-row book-${side}`);
    row.style.setProperty("--depth", `${((level.total / (maxTotal || 1)) * 100).toFixed(1)}%`);
    row.append(
      element("span", "book-price", formatNumber(level.price)),
      element("span", "", formatNumber(level.size)),
      element("span", "muted", formatNumber(level.total)),
    );
    return row;
  }

  function render() {
    if (!book) {
      asks.replaceChildren();
      bids.replaceChildren();
      spread.textContent = "Waiting for data…";
      return;
    }
    const view = bookDepth(book, depth);
    // Best ask next to the spread, so prices meet in the middle.
    asks.replaceChildren(...[...view.asks].reverse().map((level) => levelRow(level, view.maxTotal, "ask")));
    bids.replaceChildren(...view.bids.map((level) => levelRow(level, view.maxTotal, "bid")));
    spread.textContent = view.spread === null ? "–" : `spread ${formatNumber(view.spread)} · mid ${formatNumber(view.mid)}`;
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
