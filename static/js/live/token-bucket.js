// Client-side pacing, so a burst of subscriptions after a reconnect stays under
// the server's per-connection command limit instead of being refused.

export class TokenBucket {
  #perSecond;
  #capacity;
  #tokens = 0;
  #updatedAt = 0;

  constructor({ perSecond, capacity }) {
    this.#perSecond = perSecond;
    this.#capacity = capacity;
  }

  configure({ perSecond, capacity }) {
    this.#perSecond = perSecond;
    this.#capacity = capacity;
    this.#tokens = Math.min(this.#tokens, capacity);
  }

  fill(now) {
    this.#tokens = this.#capacity;
    this.#updatedAt = now;
  }

  empty(now) {
    this.#tokens = 0;
    this.#updatedAt = now;
  }

  /** Take one token if there is one; return whether it was taken. */
  take(now) {
    const refill = ((now - this.#updatedAt) * this.#perSecond) / 1000;
    this.#tokens = Math.min(this.#capacity, this.#tokens + refill);
    this.#updatedAt = now;
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }

  /** Return the milliseconds until the next token, as of the last `take`. */
  wait() {
    return Math.max(1, Math.ceil(((1 - this.#tokens) * 1000) / this.#perSecond));
  }
}
