// Per-stream sequence bookkeeping: which samples were delivered, and which
// holes are still worth asking the server for.

// An unfillable hole is forgotten once the server has answered past it; this
// bounds the ones still waiting so a flaky stream cannot grow the list forever.
const MAX_OPEN_HOLES = 64;

export const Verdict = Object.freeze({
  NEW: "new",
  FILL: "fill",
  DUPLICATE: "duplicate",
});

export class SequenceTracker {
  lastSeq = null;
  #holes = [];
  #acceptNextJump = false;

  /** Return the seq to resume after: just before the oldest open hole, else the last seen. */
  resumePoint() {
    if (this.lastSeq === null) return null;
    return this.#holes.length ? this.#holes[0].from - 1 : this.lastSeq;
  }

  get holes() {
    return this.#holes.map(({ from, to }) => ({ from, to }));
  }

  /** Note that a subscribe asking for every open hole is on its way. */
  markRequested() {
    for (const hole of this.#holes) hole.requested = true;
  }

  // After the server acknowledges that subscribe it replays history in seq
  // order, so a requested hole it replays past is one it cannot fill.
  markAnswered() {
    for (const hole of this.#holes) hole.answered = hole.requested;
  }

  /** The server's numbering started over (its data was reset): forget ours. */
  restart() {
    this.lastSeq = null;
    this.#holes = [];
    this.#acceptNextJump = false;
  }

  /** The server cannot send what was asked for: take the next jump as it comes. */
  giveUp() {
    this.#holes = [];
    this.#acceptNextJump = true;
  }

  /** Classify `seq`; return the verdict and, for a jump, the hole it opened. */
  accept(seq) {
    if (this.#holes.length) {
      this.#holes = this.#holes.filter((hole) => !(hole.answered && hole.to < seq));
    }
    if (this.lastSeq === null || seq > this.lastSeq) {
      let hole = null;
      if (this.lastSeq !== null && seq > this.lastSeq + 1 && !this.#acceptNextJump) {
        hole = { from: this.lastSeq + 1, to: seq - 1 };
        this.#holes.push({ ...hole, requested: false, answered: false });
        if (this.#holes.length > MAX_OPEN_HOLES) this.#holes.shift();
      }
      this.lastSeq = seq;
      this.#acceptNextJump = false;
      return { verdict: Verdict.NEW, hole };
    }
    return { verdict: this.#fill(seq) ? Verdict.FILL : Verdict.DUPLICATE, hole: null };
  }

  #fill(seq) {
    const index = this.#holes.findIndex((hole) => hole.from <= seq && seq <= hole.to);
    if (index === -1) return false;
    const hole = this.#holes[index];
    const pieces = [];
    if (hole.from < seq) pieces.push({ ...hole, to: seq - 1 });
    if (seq < hole.to) pieces.push({ ...hole, from: seq + 1 });
    this.#holes.splice(index, 1, ...pieces);
    return true;
  }
}
