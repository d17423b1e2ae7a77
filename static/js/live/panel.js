// What the connection panel shows, without the DOM: the state with its error
// case, the errors seen (newest first, bounded) and figures in words.

const MAX_ERRORS = 50;
const CLOSE_NORMAL = 1000;
const CLOSE_GOING_AWAY = 1001;

/**
 * Return the panel's state for a `state` event of the client: its own state,
 * or "error" when the connection ended for a reason (a close code other than
 * normal, or a handshake that never opened).
 */
export function panelState(change) {
  const failed = change.code !== undefined && change.code !== CLOSE_NORMAL && change.code !== CLOSE_GOING_AWAY;
  if (change.state === "disconnected" && failed) return "error";
  if (change.state === "reconnecting" && change.opened === false) return "error";
  return change.state === "closed" ? "disconnected" : change.state;
}

/** Return an error entry for a state change that ended a connection for a reason, or null. */
export function closeError(change, t) {
  if (panelState(change) !== "error") return null;
  const code = change.code ? `closed with ${change.code}` : "could not connect";
  return { t, code: change.code ? `close ${change.code}` : "unreachable", message: change.reason || code };
}

export class ErrorLog {
  #items = [];

  /** Add `{t, code, message, stream?}`; return the log's size. */
  add(item) {
    this.#items.unshift(item);
    if (this.#items.length > MAX_ERRORS) this.#items.length = MAX_ERRORS;
    return this.#items.length;
  }

  clear() {
    this.#items = [];
  }

  get items() {
    return this.#items.slice();
  }
}

/** Return a span of milliseconds as "3 h 4 min", "2 min 5 s" or "12 s". */
export function formatDuration(ms) {
  const seconds = Math.max(0, Math.floor(ms / 1000));
  const [hours, minutes, rest] = [Math.floor(seconds / 3600), Math.floor(seconds / 60) % 60, seconds % 60];
  if (hours) return `${hours} h ${minutes} min`;
  if (minutes) return `${minutes} min ${rest} s`;
  return `${rest} s`;
}

/** Samples a second between two readings of the client's stats. */
export class SampleRate {
  #previous = null;

  /** Return the rate since the last call, given the samples count now and the time (ms). */
  next(samples, at) {
    const previous = this.#previous;
    this.#previous = { samples, at };
    if (!previous || at <= previous.at) return 0;
    return ((samples - previous.samples) * 1000) / (at - previous.at);
  }
}
