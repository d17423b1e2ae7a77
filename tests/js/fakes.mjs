// Stand-ins for the browser's WebSocket and timers, driven by the tests.

export class FakeClock {
  now = 1_700_000_000_000;
  #timers = new Map();
  #nextId = 1;

  setTimeout = (fn, ms) => {
    const id = this.#nextId++;
    this.#timers.set(id, { at: this.now + Math.max(0, ms), fn });
    return id;
  };

  clearTimeout = (id) => {
    this.#timers.delete(id);
  };

  /** Return the delays of the timers still waiting, soonest first. */
  pendingDelays() {
    return [...this.#timers.values()].map((timer) => timer.at - this.now).sort((a, b) => a - b);
  }

  /** Move time forward by `ms`, running each timer that falls due, in order. */
  advance(ms) {
    const end = this.now + ms;
    for (;;) {
      let dueId = null;
      let due = null;
      for (const [id, timer] of this.#timers) {
        if (timer.at <= end && (due === null || timer.at < due.at)) {
          dueId = id;
          due = timer;
        }
      }
      if (due === null) break;
      this.#timers.delete(dueId);
      this.now = due.at;
      due.fn();
    }
    this.now = end;
  }
}

/** Return a WebSocket class whose instances are recorded in `sockets`. */
export function fakeWebSocketClass() {
  const sockets = [];

  class FakeWebSocket {
    static CONNECTING = 0;
    static OPEN = 1;
    static CLOSING = 2;
    static CLOSED = 3;

    readyState = 0;
    sent = [];
    closedWith = null;
    onopen = null;
    onmessage = null;
    onclose = null;
    onerror = null;

    constructor(url) {
      this.url = url;
      sockets.push(this);
    }

    send(text) {
      if (this.readyState !== 1) throw new Error("InvalidStateError: socket is not open");
      this.sent.push(JSON.parse(text));
    }

    close(code = 1000) {
      this.closedWith = code;
      this.readyState = 3;
    }

    // What the server does:

    open() {
      this.readyState = 1;
      this.onopen?.({ type: "open" });
    }

    receive(message) {
      this.onmessage?.({ data: typeof message === "string" ? message : JSON.stringify(message) });
    }

    drop(code = 1006, reason = "") {
      this.readyState = 3;
      this.onclose?.({ code, reason, wasClean: code === 1000 });
    }

    /** Return the commands of `type` the client sent on this socket. */
    sentOfType(type) {
      return this.sent.filter((command) => command.type === type);
    }
  }

  return { FakeWebSocket, sockets };
}

export function samples(...seqs) {
  return seqs.map((seq) => ({ seq, t: 1_700_000_000_000 + seq, values: { value: seq } }));
}
