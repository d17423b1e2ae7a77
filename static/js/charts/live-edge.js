// Where a live chart's time axis ends. Samples come in batches (a 1 kHz stream
// in frames of 50 ms, a 1 Hz one once a second); between batches the axis moves
// on with the clock, so the chart scrolls smoothly instead of jumping once per
// batch. The clock is carried onto the streams' time by the smallest delay seen
// lately (the batch that came quickest), and the axis never runs further past the
// newest sample than twice the usual gap between batches: when data stops, the
// chart stops with it. No DOM, so node tests it.

/** How long batches are remembered for the clock's offset (ms). */
export const OFFSET_MEMORY_MS = 3000;
/** The least the axis may run past the newest sample (ms). */
export const HOLD_MIN_MS = 250;
/** The most, whatever the streams' pace (ms). */
export const HOLD_MAX_MS = 5000;

export class LiveEdge {
  #recent = []; // [arrival, t − arrival] of the batches of the last OFFSET_MEMORY_MS
  #newest = null; // t of the newest sample
  #lastArrival = null;
  #gap = null; // the usual time between batches, smoothed
  #right = -Infinity;
  #halted = false;

  /** A batch whose newest sample has time `t` (ms) arrived at `now` (ms, the local clock). */
  observe(t, now) {
    if (!Number.isFinite(t)) return;
    this.#halted = false;
    if (this.#lastArrival !== null) {
      const gap = now - this.#lastArrival;
      this.#gap = this.#gap === null ? gap : this.#gap * 0.8 + gap * 0.2;
    }
    this.#lastArrival = now;
    this.#newest = this.#newest === null ? t : Math.max(this.#newest, t);
    this.#recent.push([now, t - now]);
    while (this.#recent.length && this.#recent[0][0] < now - OFFSET_MEMORY_MS) this.#recent.shift();
  }

  /** How far past the newest sample the axis may run (ms). */
  get hold() {
    return Math.min(HOLD_MAX_MS, Math.max(HOLD_MIN_MS, 2 * (this.#gap ?? 0)));
  }

  /** Whether the axis is still moving at `now`: data came within the hold. */
  moving(now) {
    return !this.#halted && this.#lastArrival !== null && now - this.#lastArrival < this.hold;
  }

  /** No samples are coming for now: the axis stays where it was last drawn until the next batch. */
  halt() {
    this.#halted = true;
  }

  /** The axis's right end at `now` (ms on the streams' clock), or null before any sample. */
  right(now) {
    if (this.#newest === null) return null;
    if (this.#halted) return Number.isFinite(this.#right) ? this.#right : this.#newest;
    let offset = -Infinity;
    for (const [, lead] of this.#recent) offset = Math.max(offset, lead);
    const clock = Number.isFinite(offset) ? now + offset : this.#newest;
    const edge = Math.max(this.#newest, Math.min(clock, this.#newest + this.hold));
    // Never backwards: a late batch does not pull the axis back.
    this.#right = Math.max(this.#right, edge);
    return this.#right;
  }

  reset() {
    this.#recent = [];
    this.#newest = null;
    this.#lastArrival = null;
    this.#gap = null;
    this.#right = -Infinity;
    this.#halted = false;
  }
}
