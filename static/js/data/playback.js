// Playback of a stored range: the stored samples themselves, every field, in
// order, paced by their own time `t` at a chosen speed (or as fast as they
// load). Samples come from the server a page at a time, a page or two ahead of
// the clock, so a day at 1 kHz plays without a day in memory. No DOM here: the
// page drives `tick(now)` once a frame, and node tests drive it by hand.

export const SPEEDS = Object.freeze([0.5, 1, 2, 5, 10, Infinity]);
export const PAGE_SIZE = 2000;
// Samples before the start (or a seek) given at once, so windows start full.
export const CONTEXT_SIZE = 2000;
const MAX_SEQ = 2 ** 62;
// Consumed samples are dropped from the buffer in chunks of at least this many.
const COMPACT_AFTER = 10_000;

/** Return the speed a control's value names: a factor, or "max" for as fast as possible. */
export function parseSpeed(value) {
  if (value === "max" || value === Infinity) return Infinity;
  const speed = Number(value);
  return Number.isFinite(speed) && speed > 0 ? speed : 1;
}

class StreamPages {
  buffer = [];
  read = 0; // samples before this index have been played
  next = 0; // the seq to read after; null once the range is read to its end
  loading = false;
  ready = false; // the first page after the start point has arrived
  coarse = false; // part of what it plays comes from a rollup tier

  get ahead() {
    return this.buffer.length - this.read;
  }

  /** Return the time up to which this stream's samples are known (Infinity when all are). */
  horizon(position) {
    if (!this.ready) return position;
    if (this.next === null) return Infinity;
    return this.buffer.length ? this.buffer.at(-1).t : position;
  }

  /** Return the buffered samples with t ≤ `upTo` not played yet, and mark them played. */
  take(upTo) {
    const start = this.read;
    let end = start;
    while (end < this.buffer.length && this.buffer[end].t <= upTo) end += 1;
    this.read = end;
    const taken = this.buffer.slice(start, end);
    if (this.read >= COMPACT_AFTER) {
      this.buffer = this.buffer.slice(this.read);
      this.read = 0;
    }
    return taken;
  }
}

export class Player {
  #from;
  #to;
  #slugs;
  #fetchPage;
  #fetchBuckets;
  #onSamples;
  #onReset;
  #onCoarse;
  #onError;
  #pageSize;
  #contextSize;
  #streams = new Map();
  #generation = 0;
  #lastTick = null;
  position;
  speed = 1;
  playing = false;

  /**
   * Play [from, to) of `slugs`.
   * - `fetchPage(slug, {from, to, afterSeq | beforeSeq, limit})` → {samples, next, rawFrom}
   *   (the raw-samples API: `next` null at the end, `rawFrom` where raw history starts);
   * - `fetchBuckets(slug, {from, to})` → bucket samples, for the part older than raw history;
   * - `onSamples(slug, samples)` gets each step's samples, oldest first;
   * - `onReset()` comes before a start or seek: what was drawn no longer holds;
   * - `onCoarse(slug, rawFrom)` says a stream plays rollups before `rawFrom`.
   */
  constructor({ from, to, slugs, fetchPage, fetchBuckets = null, onSamples, onReset = () => {}, onCoarse = () => {}, onError = () => {}, pageSize = PAGE_SIZE, contextSize = CONTEXT_SIZE }) {
    this.#from = from;
    this.#to = to;
    this.#slugs = [...slugs];
    this.#fetchPage = fetchPage;
    this.#fetchBuckets = fetchBuckets;
    this.#onSamples = onSamples;
    this.#onReset = onReset;
    this.#onCoarse = onCoarse;
    this.#onError = onError;
    this.#pageSize = pageSize;
    this.#contextSize = contextSize;
    this.position = from;
  }

  get from() {
    return this.#from;
  }

  get to() {
    return this.#to;
  }

  /** Return how far along the range the clock is, 0 to 1. */
  get fraction() {
    return (this.position - this.#from) / Math.max(1, this.#to - this.#from);
  }

  /** Every stream has played its last sample of the range. */
  get done() {
    if (!this.#streams.size) return this.position >= this.#to;
    return [...this.#streams.values()].every((stream) => stream.ready && stream.next === null && stream.ahead === 0);
  }

  /** Return the number of samples loaded and not yet played, over all streams (memory kept). */
  get buffered() {
    let total = 0;
    for (const stream of this.#streams.values()) total += stream.ahead;
    return total;
  }

  /** Start playing at the clock's position (from the start when it is at the end). */
  play(now) {
    if (!this.#streams.size) this.seek(this.position);
    else if (this.done) this.seek(this.#from);
    this.playing = true;
    this.#lastTick = now;
  }

  pause() {
    this.playing = false;
  }

  setSpeed(speed) {
    this.speed = parseSpeed(speed);
  }

  /** Put the clock at `t` (kept inside the range) and load from there; what was shown is reset. */
  seek(t) {
    this.position = Math.max(this.#from, Math.min(this.#to, t));
    const generation = ++this.#generation;
    this.#streams = new Map(this.#slugs.map((slug) => [slug, new StreamPages()]));
    this.#onReset();
    for (const [slug, stream] of this.#streams) this.#start(slug, stream, generation);
  }

  seekFraction(fraction) {
    this.seek(this.#from + fraction * (this.#to - this.#from));
  }

  /**
   * Move the clock by the wall time since the last tick times the speed, but
   * never past what has loaded, and hand out the samples it crossed. Return
   * whether anything was handed out.
   */
  tick(now) {
    const elapsed = this.#lastTick === null ? 0 : Math.max(0, now - this.#lastTick);
    this.#lastTick = now;
    if (!this.playing) return false;
    let horizon = this.#to;
    for (const stream of this.#streams.values()) horizon = Math.min(horizon, stream.horizon(this.position));
    const target = this.speed === Infinity ? Infinity : this.position + elapsed * this.speed;
    this.position = Math.max(this.position, Math.min(target, horizon, this.#to));
    // At the range's end every remaining sample is due, whatever its t.
    const upTo = this.position >= this.#to ? Infinity : this.position;
    let moved = false;
    for (const [slug, stream] of this.#streams) {
      const samples = stream.take(upTo);
      if (samples.length) {
        moved = true;
        this.#onSamples(slug, samples);
      }
      this.#refill(slug, stream, this.#generation);
    }
    if (this.done) this.playing = false;
    return moved;
  }

  async #start(slug, stream, generation) {
    const at = this.position;
    try {
      if (at > this.#from && this.#contextSize > 0) {
        const before = await this.#fetchPage(slug, { from: this.#from, to: at, beforeSeq: MAX_SEQ, limit: this.#contextSize });
        if (generation !== this.#generation) return;
        if (before.samples.length) this.#onSamples(slug, before.samples);
      }
      const page = await this.#fetchPage(slug, { from: at, to: this.#to, afterSeq: 0, limit: this.#pageSize });
      if (generation !== this.#generation) return;
      let samples = page.samples;
      const rawFrom = page.rawFrom;
      if (this.#fetchBuckets && (rawFrom === null || rawFrom > at) && at < this.#to) {
        // Older than raw retention: the finest tier left stands in, up to where raw begins.
        const coarse = await this.#fetchBuckets(slug, { from: at, to: rawFrom === null ? this.#to : Math.min(rawFrom, this.#to) });
        if (generation !== this.#generation) return;
        if (coarse.length) {
          stream.coarse = true;
          this.#onCoarse(slug, rawFrom);
          samples = coarse.concat(samples);
        }
      }
      stream.buffer = samples;
      stream.next = page.next;
      stream.ready = true;
    } catch (error) {
      if (generation !== this.#generation) return;
      stream.ready = true;
      stream.next = null;
      this.#onError(error);
    }
  }

  async #refill(slug, stream, generation) {
    if (!stream.ready || stream.loading || stream.next === null || stream.ahead > this.#pageSize / 2) return;
    stream.loading = true;
    try {
      const page = await this.#fetchPage(slug, { from: this.#from, to: this.#to, afterSeq: stream.next, limit: this.#pageSize });
      if (generation !== this.#generation) return;
      stream.buffer.push(...page.samples);
      stream.next = page.next;
    } catch (error) {
      if (generation !== this.#generation) return;
      stream.next = null;
      this.#onError(error);
    } finally {
      stream.loading = false;
    }
  }
}
