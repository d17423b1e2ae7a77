// Commands by the ref they went out with, so a reply or an error can be traced
// to the command (and the stream) that caused it.

// A success that is broadcast (status) carries no ref back, so not every
// command is ever answered: only the most recent are kept.
const MAX_REMEMBERED = 256;

export class SentCommands {
  #nextRef = 1;
  #byRef = new Map();

  /** Return `command` with a ref (its own, or a fresh number), remembered. */
  stamp(command) {
    const stamped = command.ref === undefined ? { ...command, ref: this.#nextRef++ } : command;
    this.#byRef.set(stamped.ref, stamped);
    if (this.#byRef.size > MAX_REMEMBERED) this.#byRef.delete(this.#byRef.keys().next().value);
    return stamped;
  }

  /** Return and forget the command sent with `ref`, if it is still known. */
  take(ref) {
    if (ref === undefined || ref === null) return undefined;
    const command = this.#byRef.get(ref);
    this.#byRef.delete(ref);
    return command;
  }

  clear() {
    this.#byRef.clear();
  }
}
