// Candles (open, high, low, close) built from price ticks in fixed time buckets.

export class CandleBuilder {
  #bucketMs;
  #limit;
  // Bucket start → candle; `openT`/`closeT` say which tick opened and closed it,
  // so ticks that arrive out of order (history filled in late) still land right.
  #candles = new Map();

  constructor({ seconds = 5, limit = 120 } = {}) {
    this.#bucketMs = Math.max(1, seconds) * 1000;
    this.#limit = Math.max(1, limit);
  }

  get bucketMs() {
    return this.#bucketMs;
  }

  clear() {
    this.#candles.clear();
  }

  /** Add one tick: a price at time `t` (ms). */
  addTick(t, price) {
    this.addRange(t, { open: price, high: price, low: price, close: price, count: 1 });
  }

  /** Add a span that already has its own open/high/low/close (a history bucket starting at `t`). */
  addRange(t, { open, high, low, close, count = 1 }) {
    if (![open, high, low, close].every((value) => typeof value === "number" && Number.isFinite(value))) return;
    const start = Math.floor(t / this.#bucketMs) * this.#bucketMs;
    const candle = this.#candles.get(start);
    if (!candle) {
      this.#candles.set(start, { t: start, open, high, low, close, count, openT: t, closeT: t });
      this.#trim();
      return;
    }
    if (t < candle.openT) {
      candle.open = open;
      candle.openT = t;
    }
    if (t >= candle.closeT) {
      candle.close = close;
      candle.closeT = t;
    }
    candle.high = Math.max(candle.high, high);
    candle.low = Math.min(candle.low, low);
    candle.count += count;
  }

  #trim() {
    if (this.#candles.size <= this.#limit) return;
    const starts = [...this.#candles.keys()].sort((a, b) => a - b);
    for (const start of starts.slice(0, starts.length - this.#limit)) this.#candles.delete(start);
  }

  /** Return the candles oldest first, as {t, open, high, low, close, count}. */
  candles() {
    return [...this.#candles.values()]
      .sort((a, b) => a.t - b.t)
      .map(({ t, open, high, low, close, count }) => ({ t, open, high, low, close, count }));
  }
}
