// Order book: asks above, bids below, each level with a bar of the cumulative
// size up to it, and the spread between them.
//
// A book moves ten times a second, so a level is as cheap as it can be to
// change: one row, its price in a span (coloured by side) and its size and total
// as one run of text, the columns aligned by padding in the monospaced font,
// and its bar a background whose width is set. A row of three grid cells and a
// bar element of its own cost the page twice as much per update (style, layout
// and paint of every cell).

import { bookDepth } from "../data/orderbook.js";
import { formatNumber } from "../format.js";
import { TEXT_INTERVAL_MS, element, setText } from "./common.js";
import { mountWidget } from "./scaffold.js";

const GAP = 2; // the least room between columns, in characters

/** Return the three columns' texts padded to `widths` with `gap` spaces between. */
export function bookLine([price, size, total], [priceWidth, sizeWidth, totalWidth], gap) {
  return [price.padStart(priceWidth), `${size.padStart(gap + sizeWidth)}${total.padStart(gap + totalWidth)}`];
}

/** Return the gap between columns that spreads `widths` over `characters`. */
export function spreadGap(widths, characters) {
  const used = widths.reduce((sum, width) => sum + width, 0);
  return Math.max(GAP, Math.floor((characters - used) / (widths.length - 1)));
}

/** config: fields [{name}] (the first holds the book, "book"), depth (10 levels per side). */
export function create(el, config = {}) {
  const name = config.fields?.[0]?.name ?? "book";
  const depth = config.depth ?? 10;
  let book = null;
  let bookSample = null;
  let characters = 0; // how many characters fit across, measured when the widget is resized
  let measure = true;

  const root = element("div", "orderbook");
  const head = element("div", "book-row book-head");
  const headText = document.createTextNode("");
  head.append(headText);
  const asks = element("div", "book-side book-asks");
  const spread = element("div", "book-spread", "–");
  const bids = element("div", "book-side book-bids");
  root.append(head, asks, spread, bids);

  function levelRows(container, side) {
    const rows = [];
    return (lines, depths) => {
      while (rows.length < lines.length) {
        const row = element("div", `book-row book-${side}`);
        const price = document.createTextNode("");
        const rest = document.createTextNode("");
        const priceCell = element("span", "book-price");
        priceCell.append(price);
        row.append(priceCell, rest);
        container.append(row);
        rows.push({ row, price, rest, depth: "" });
      }
      while (rows.length > lines.length) rows.pop().row.remove();
      lines.forEach(([priceText, restText], index) => {
        const shown = rows[index];
        if (shown.price.data !== priceText) shown.price.data = priceText;
        if (shown.rest.data !== restText) shown.rest.data = restText;
        if (shown.depth !== depths[index]) {
          shown.depth = depths[index];
          shown.row.style.backgroundSize = `${depths[index]} calc(100% - 2px)`;
        }
      });
    };
  }
  const showAsks = levelRows(asks, "ask");
  const showBids = levelRows(bids, "bid");

  function measureWidth() {
    measure = false;
    // The font is monospaced: one character's width is a tenth of ten.
    const probe = element("span", "book-probe", "0000000000");
    head.append(probe);
    const width = probe.getBoundingClientRect().width / 10;
    probe.remove();
    const style = getComputedStyle(head);
    const room = head.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
    characters = width > 0 ? Math.floor(room / width) : 0;
  }

  function render() {
    if (measure) measureWidth();
    if (!book) {
      showAsks([], []);
      showBids([], []);
      setText(spread, "Waiting for data…");
      return;
    }
    const view = bookDepth(book, depth);
    // Best ask next to the spread, so prices meet in the middle.
    const levels = [...[...view.asks].reverse(), ...view.bids];
    const texts = levels.map((level) => [level.price, level.size, level.total].map(formatNumber));
    const headings = ["price", "size", "total"];
    const widths = headings.map((heading, column) => Math.max(heading.length, ...texts.map((text) => text[column].length)));
    const gap = spreadGap(widths, characters);
    const depths = levels.map((level) => `${((level.total / (view.maxTotal || 1)) * 100).toFixed(1)}%`);
    const lines = texts.map((text) => bookLine(text, widths, gap));
    const askCount = view.asks.length;
    showAsks(lines.slice(0, askCount), depths.slice(0, askCount));
    showBids(lines.slice(askCount), depths.slice(askCount));
    const headLine = bookLine(headings, widths, gap).join("");
    if (headText.data !== headLine) headText.data = headLine;
    setText(spread, view.spread === null ? "–" : `spread ${formatNumber(view.spread)} · mid ${formatNumber(view.mid)}`);
  }

  return mountWidget(el, root, {
    render,
    minInterval: TEXT_INTERVAL_MS,
    watch: {
      onResize: () => (measure = true),
      onTheme: () => {},
    },
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
