// The streams a page watches and where each one resumes: what `subscribe`
// to send after a reconnect or a hole, and which samples are new.

import { SequenceTracker, Verdict } from "./sequence.js";

export class Subscriptions {
  #records = new Map();

  has(stream) {
    return this.#records.has(stream);
  }

  get size() {
    return this.#records.size;
  }

  add(stream, backfill) {
    this.#records.set(stream, {
      backfill,
      sequence: new SequenceTracker(),
      pending: true,
      sentOnThisConnection: false,
      // The last seq stored when the server last answered `subscribed`: samples up
      // to it are the stream's past (backfill, a resume), those after it are live.
      liveAfter: null,
    });
  }

  /** Forget `stream`; return whether the server was told of it on this connection. */
  remove(stream) {
    const record = this.#records.get(stream);
    this.#records.delete(stream);
    return Boolean(record?.sentOnThisConnection);
  }

  lastSeq(stream) {
    return this.#records.get(stream)?.sequence.lastSeq ?? null;
  }

  /** A new connection knows none of them: every stream must be subscribed again. */
  resetForNewConnection() {
    for (const record of this.#records.values()) {
      record.pending = true;
      record.sentOnThisConnection = false;
    }
  }

  requestAgain(stream) {
    const record = this.#records.get(stream);
    if (record) record.pending = true;
  }

  pendingCount() {
    let count = 0;
    for (const record of this.#records.values()) if (record.pending) count += 1;
    return count;
  }

  /** Return the next `subscribe` command to send, or null. */
  nextCommand() {
    for (const [stream, record] of this.#records) {
      if (!record.pending) continue;
      record.pending = false;
      record.sentOnThisConnection = true;
      const command = { type: "subscribe", stream };
      const since = record.sequence.resumePoint();
      record.sequence.markRequested();
      if (since !== null) command.since = since;
      else if (record.backfill) command.backfill = record.backfill;
      return command;
    }
    return null;
  }

  /**
   * Take in the server's `subscribed` reply; return true when the stream's
   * numbering started over, so what was drawn of it no longer fits.
   */
  acknowledged(stream, { seq, recovered }) {
    const record = this.#records.get(stream);
    const sequence = record?.sequence;
    if (!sequence) return false;
    if (Number.isSafeInteger(seq)) record.liveAfter = seq;
    // The server stores a sample before anyone sees it, so a last stored seq
    // below ours means its data was reset.
    const restarted = Number.isSafeInteger(seq) && sequence.lastSeq !== null && seq < sequence.lastSeq;
    if (restarted) sequence.restart();
    else if (recovered === false) sequence.giveUp();
    sequence.markAnswered();
    return restarted;
  }

  /**
   * Return the samples of `stream` not delivered before, and the holes their
   * seq jumps opened; each hole queues one resubscribe that asks for it.
   */
  accept(stream, samples) {
    const record = this.#records.get(stream);
    const fresh = [];
    const holes = [];
    let live = 0;
    if (!record) return { fresh, holes, live };
    for (const sample of samples) {
      const seq = sample?.seq;
      if (!Number.isSafeInteger(seq)) continue;
      const { verdict, hole } = record.sequence.accept(seq);
      if (hole) holes.push(hole);
      if (verdict === Verdict.DUPLICATE) continue;
      fresh.push(sample);
      if (record.liveAfter === null || seq > record.liveAfter) live += 1;
    }
    if (holes.length) record.pending = true;
    return { fresh, holes, live };
  }
}
