// Between the page's one LiveClient and its widgets: each stream is subscribed
// once however many widgets show it, its samples go to all of them, and a
// widget added later starts from what the page already has. No DOM here.

const WINDOW_SLACK_MS = 1000;
const TOP_UP_POINTS = 600;

class StreamRecord {
  entries = new Set();
  // Recent samples, so a widget added later (or redrawn after a change) starts full.
  cache = [];
  capacity = 0;
  // Set from `subscribed` until the backfill it announced has arrived.
  backfill = null;
  backfillDone = false;
  running = null;
  presence = null;

  remember(samples) {
    if (!this.capacity) return;
    for (const sample of samples) this.cache.push(sample);
    if (this.cache.length > this.capacity) this.cache.splice(0, this.cache.length - this.capacity);
  }
}

export class StreamHub {
  #client;
  #maxBackfill;
  #fetchHistory;
  #now;
  #streams = new Map();
  #unsubscribe = [];

  /**
   * `client`: a LiveClient (or anything with on/subscribe/unsubscribe);
   * `fetchHistory(slug, {from, to, points})` → samples, or null where the
   * viewer may not read history (a link holder).
   */
  constructor({ client, maxBackfill = 10_000, fetchHistory = null, now = () => Date.now() }) {
    this.#client = client;
    this.#maxBackfill = maxBackfill;
    this.#fetchHistory = fetchHistory;
    this.#now = now;
    this.#unsubscribe = [
      client.on("subscribed", (message) => this.#onSubscribed(message)),
      client.on("data", ({ stream, samples }) => this.#onData(stream, samples)),
      client.on("presence", (message) => this.#each(message.stream, (widget) => widget.presence?.(message), (record) => {
        record.presence = message;
      })),
      client.on("status", (message) => {
        this.#each(message.stream, (widget) => widget.status?.(message.running), (record) => {
          record.running = message.running;
        });
        if (message.running === false) this.#halt(message.stream);
      }),
      // No more samples for now: a live chart stops moving at once rather than
      // running on with the clock (a revoked stream, a stopped source, a lost socket).
      client.on("unsubscribed", (message) => this.#halt(message.stream)),
      client.on("state", ({ state }) => {
        if (state !== "connected" && state !== "connecting") for (const slug of this.#streams.keys()) this.#halt(slug);
      }),
      client.on("reset", ({ stream }) => this.#onReset(stream)),
    ];
  }

  /** Return the streams the hub watches. */
  get streams() {
    return [...this.#streams.keys()];
  }

  /**
   * Feed `widget` with `slug`'s samples. `plan` ({backfill, seconds}) says how
   * much history it starts with. Return a function that stops feeding it.
   */
  attach(slug, widget, plan = { backfill: 0, seconds: null }) {
    let record = this.#streams.get(slug);
    const isNew = !record;
    if (isNew) {
      record = new StreamRecord();
      this.#streams.set(slug, record);
    }
    const entry = { widget, plan };
    record.entries.add(entry);
    const wanted = Math.min(this.#maxBackfill, plan.backfill ?? 0);
    record.capacity = Math.max(record.capacity, wanted);
    if (isNew) {
      // Widgets added in the same turn (the whole page at load) share one
      // subscription, asked with the backfill the largest of them needs.
      queueMicrotask(() => {
        if (this.#streams.get(slug) === record) this.#client.subscribe(slug, { backfill: record.capacity });
      });
    } else {
      // The stream is already flowing: start from what the page has.
      const cached = wanted ? record.cache.slice(-wanted) : [];
      if (cached.length) widget.push(cached);
      if (record.running !== null) widget.status?.(record.running);
      if (record.presence) widget.presence?.(record.presence);
      if (record.backfillDone) this.#topUp(slug, record, entry);
    }
    return () => record.entries.delete(entry);
  }

  /** Stop watching `slug` (no widget on the page shows it any more). */
  release(slug) {
    if (!this.#streams.delete(slug)) return;
    this.#client.unsubscribe(slug);
  }

  /** Forget what was drawn and cached: every widget starts again from new data. */
  clear() {
    for (const record of this.#streams.values()) {
      record.cache = [];
      for (const { widget } of record.entries) widget.clear();
    }
  }

  /** Return the cached recent samples of `slug`. */
  recent(slug) {
    return this.#streams.get(slug)?.cache.slice() ?? [];
  }

  destroy() {
    for (const stop of this.#unsubscribe) stop();
    this.#streams.clear();
  }

  #halt(slug) {
    this.#each(slug, (widget) => widget.halt?.());
  }

  #each(slug, call, update = () => {}) {
    const record = this.#streams.get(slug);
    if (!record) return;
    update(record);
    for (const { widget } of record.entries) call(widget);
  }

  #onSubscribed(message) {
    const record = this.#streams.get(message.stream);
    if (!record) return;
    record.running = message.running;
    for (const { widget } of record.entries) widget.status?.(message.running);
    // Only the first subscription sends a backfill; a resume with `since` sends what was missed.
    if (record.backfill !== null || record.backfillDone) return;
    const lastSeq = Number.isSafeInteger(message.seq) ? message.seq : 0;
    record.backfill = { untilSeq: lastSeq };
    if (lastSeq <= 0 || record.capacity === 0) this.#finishBackfill(message.stream, record);
  }

  #onData(slug, samples) {
    const record = this.#streams.get(slug);
    if (!record) return;
    record.remember(samples);
    for (const { widget } of record.entries) widget.push(samples);
    const pending = record.backfill;
    if (pending && !record.backfillDone && samples.some((sample) => sample.seq >= pending.untilSeq)) {
      this.#finishBackfill(slug, record);
    }
  }

  #onReset(slug) {
    const record = this.#streams.get(slug);
    if (!record) return;
    record.cache = [];
    for (const { widget } of record.entries) widget.clear();
  }

  #finishBackfill(slug, record) {
    record.backfillDone = true;
    for (const entry of record.entries) this.#topUp(slug, record, entry);
  }

  // A window in seconds that reaches further back than the cached samples is
  // filled in from the history API: bucket means, older than anything live.
  async #topUp(slug, record, entry) {
    const seconds = entry.plan.seconds;
    if (!seconds || !this.#fetchHistory || !entry.widget.prepend) return;
    const now = this.#now();
    const from = now - seconds * 1000;
    const oldest = record.cache.length ? record.cache[0].t : now;
    if (oldest - from <= WINDOW_SLACK_MS) return;
    let samples;
    try {
      samples = await this.#fetchHistory(slug, { from, to: oldest, points: Math.min(TOP_UP_POINTS, seconds) });
    } catch (error) {
      console.warn(`history of ${slug} is unavailable`, error);
      return;
    }
    if (!samples?.length || !record.entries.has(entry)) return;
    entry.widget.prepend(samples.filter((sample) => sample.t < oldest));
  }
}
