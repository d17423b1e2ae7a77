// The depth view of an order book: the best levels of each side with running totals.

function level(entry) {
  if (Array.isArray(entry)) return { price: Number(entry[0]), size: Number(entry[1]) };
  return { price: Number(entry?.price), size: Number(entry?.size) };
}

function side(entries, depth, compare) {
  const levels = (Array.isArray(entries) ? entries : [])
    .map(level)
    .filter(({ price, size }) => Number.isFinite(price) && Number.isFinite(size) && size >= 0)
    .sort(compare)
    .slice(0, depth);
  let total = 0;
  return levels.map(({ price, size }) => {
    total += size;
    return { price, size, total };
  });
}

/**
 * Return the best `depth` bids (highest first) and asks (lowest first), each
 * level with the cumulative size up to it, the largest total (to scale bars),
 * the spread and the mid price. Levels may be [price, size] or {price, size}.
 */
export function bookDepth(book, depth = 10) {
  const bids = side(book?.bids, depth, (a, b) => b.price - a.price);
  const asks = side(book?.asks, depth, (a, b) => a.price - b.price);
  const maxTotal = Math.max(bids.at(-1)?.total ?? 0, asks.at(-1)?.total ?? 0);
  const bestBid = bids[0]?.price;
  const bestAsk = asks[0]?.price;
  const both = bestBid !== undefined && bestAsk !== undefined;
  return {
    bids,
    asks,
    maxTotal,
    spread: both ? bestAsk - bestBid : null,
    mid: both ? (bestAsk + bestBid) / 2 : null,
  };
}
