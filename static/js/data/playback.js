// Client-side replay of a loaded history range: a clock that moves from `from`
// to `to` at a chosen speed, and the samples each step brings.

export const SPEEDS = Object.freeze([0.5, 1, 2, 5, 10]);

export class Playback {
  #from;
  #to;
  position;
  speed = 1;
  playing = false;

  constructor({ from, to }) {
    this.#from = from;
    this.#to = to;
    this.position = from;
  }

  get from() {
    return this.#from;
  }

  get to() {
    return this.#to;
  }

  get done() {
    return this.position >= this.#to;
  }

  /** Return how far along the range the clock is, 0 to 1. */
  get fraction() {
    return (this.position - this.#from) / Math.max(1, this.#to - this.#from);
  }

  /** Move the clock on by `elapsedMs` of wall time; return the span it crossed, (from, to]. */
  advance(elapsedMs) {
    const previous = this.position;
    this.position = Math.min(this.#to, previous + Math.max(0, elapsedMs) * this.speed);
    if (this.done) this.playing = false;
    return { from: previous, to: this.position };
  }

  /** Put the clock at `t`, kept inside the range. */
  seek(t) {
    this.position = Math.max(this.#from, Math.min(this.#to, t));
  }

  seekFraction(fraction) {
    this.seek(this.#from + fraction * (this.#to - this.#from));
  }
}

/** Return the samples (sorted by t) with `after` < t ≤ `upTo`. */
export function samplesBetween(samples, after, upTo) {
  return samples.slice(firstAfter(samples, after), firstAfter(samples, upTo));
}

function firstAfter(samples, t) {
  let low = 0;
  let high = samples.length;
  while (low < high) {
    const middle = (low + high) >> 1;
    if (samples[middle].t <= t) low = middle + 1;
    else high = middle;
  }
  return low;
}
