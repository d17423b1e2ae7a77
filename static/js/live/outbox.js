// The commands on their way out: which goes next, how many wait, and how fast
// they may leave.

const MAX_QUEUED_COMMANDS = 1000;
// The server's defaults, used until `hello` announces the real limits.
const DEFAULT_COMMANDS_PER_SECOND = 20;
const DEFAULT_COMMAND_BURST = 60;
// Commands bunch up on the way, so pace below the server's bucket, not at it.
const PACING_MARGIN = 0.8;

/** Return the TokenBucket settings for a server that allows `perSecond` commands, `burst` at once. */
export function pacing(perSecond = DEFAULT_COMMANDS_PER_SECOND, burst = DEFAULT_COMMAND_BURST) {
  return { perSecond: perSecond * PACING_MARGIN, capacity: Math.max(1, Math.floor(burst * PACING_MARGIN)) };
}

/**
 * The subscriptions' pending commands, then the other commands in the order
 * they were given; only the newest MAX_QUEUED_COMMANDS of those wait.
 */
export class Outbox {
  #subscriptions;
  #queue = [];

  /** `subscriptions`: the Subscriptions whose `subscribe` commands go first. */
  constructor(subscriptions) {
    this.#subscriptions = subscriptions;
  }

  /** Queue `command`; return how many of the oldest were dropped to make room. */
  push(command) {
    this.#queue.push(command);
    const dropped = Math.max(0, this.#queue.length - MAX_QUEUED_COMMANDS);
    if (dropped) this.#queue.splice(0, dropped);
    return dropped;
  }

  get size() {
    return this.#subscriptions.pendingCount() + this.#queue.length;
  }

  // Subscriptions go first: the queued commands (start, stop) act on them.
  next() {
    return this.#subscriptions.nextCommand() ?? this.#queue.shift();
  }
}
