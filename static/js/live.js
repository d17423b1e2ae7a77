// The page's one connection to /ws/live/. It owns reconnection, pacing and the
// per-stream sequence bookkeeping, so widgets only ever see each sample once.
// No DOM here: node --test runs this module as it is.

import { backoffDelay, DEFAULT_BACKOFF, unreachableDelay } from "./live/backoff.js";
import { Emitter } from "./live/emitter.js";
import { Outbox, pacing } from "./live/outbox.js";
import { SentCommands } from "./live/sent-commands.js";
import { Subscriptions } from "./live/subscriptions.js";
import { TokenBucket } from "./live/token-bucket.js";

export const State = Object.freeze({
  CONNECTING: "connecting",
  CONNECTED: "connected",
  RECONNECTING: "reconnecting",
  DISCONNECTED: "disconnected",
  CLOSED: "closed",
});

const SOCKET_OPEN = 1;
const CLOSE_NORMAL = 1000;
const CLOSE_UNAUTHENTICATED = 4001;
// Silence for this many ping intervals means a half-open TCP connection, which
// browsers may never report as closed on their own.
const DEAD_AFTER_INTERVALS = 3;
// Errors that mean the server will never accept this subscription.
const FATAL_SUBSCRIBE_ERRORS = new Set(["unknown_stream", "forbidden", "too_many", "invalid_field"]);

export class LiveClient {
  #url;
  #WebSocket;
  #setTimeout;
  #clearTimeout;
  #now;
  #random;
  #pingInterval;
  #backoff;
  #debug;

  #state = State.DISCONNECTED;
  #socket = null;
  #events = new Emitter();
  #streams = new Subscriptions();
  #outbox = new Outbox(this.#streams);
  #sent = new SentCommands();
  #attempt = 0;
  #reconnectTimer = null;
  // Whether a connection of this client was ever welcomed: the next welcome is a reconnection.
  #welcomed = false;
  #heartbeatTimer = null;
  #pumpTimer = null;
  #lastReceivedAt = 0;
  #bucket = new TokenBucket(pacing());
  #counters = {
    received: 0,
    samples: 0,
    liveSamples: 0,
    sent: 0,
    samplesSent: 0,
    reconnects: 0,
    dropped: 0,
    gaps: 0,
    rtt: null,
    connectedSince: null,
  };

  /** The `hello` frame of the current connection (user, limits), or null. */
  hello = null;

  constructor({
    url,
    WebSocket = globalThis.WebSocket,
    setTimeout = (fn, ms) => globalThis.setTimeout(fn, ms),
    clearTimeout = (id) => globalThis.clearTimeout(id),
    now = () => Date.now(),
    random = () => Math.random(),
    pingInterval = 10000,
    backoff = {},
    debug = false,
  } = {}) {
    if (!url) throw new TypeError("LiveClient needs a url");
    if (typeof WebSocket !== "function") throw new TypeError("LiveClient needs a WebSocket constructor");
    this.#url = url;
    this.#WebSocket = WebSocket;
    this.#setTimeout = setTimeout;
    this.#clearTimeout = clearTimeout;
    this.#now = now;
    this.#random = random;
    this.#pingInterval = pingInterval;
    this.#backoff = { ...DEFAULT_BACKOFF, ...backoff };
    this.#debug = debug;
  }

  get state() {
    return this.#state;
  }

  /** Frames received and sent, samples received and published, queued commands, subscriptions, uptime (ms), RTT… */
  get stats() {
    const since = this.#counters.connectedSince;
    const uptime = since === null ? 0 : this.#now() - since;
    return { ...this.#counters, queued: this.#outbox.size, subscriptions: this.#streams.size, uptime };
  }

  /** Return the last sequence number delivered for `stream`, or null. */
  lastSeq(stream) {
    return this.#streams.lastSeq(stream);
  }

  /** Listen to `event`; return a function that stops listening. */
  on(event, listener) {
    return this.#events.on(event, listener);
  }

  connect() {
    if (this.#state === State.CONNECTING || this.#state === State.CONNECTED) return;
    if (this.#state === State.RECONNECTING) {
      // Called again while waiting (the browser came back online): try now.
      if (this.#reconnectTimer !== null) {
        this.#clearTimeout(this.#reconnectTimer);
        this.#reconnectTimer = null;
        this.#openSocket();
      }
      return;
    }
    this.#attempt = 0;
    this.#setState(State.CONNECTING);
    this.#openSocket();
  }

  close() {
    this.#stopTimers();
    if (this.#reconnectTimer !== null) this.#clearTimeout(this.#reconnectTimer);
    this.#reconnectTimer = null;
    this.#abandonSocket();
    this.#counters.connectedSince = null;
    if (this.#state !== State.CLOSED) this.#setState(State.CLOSED);
  }

  subscribe(stream, { backfill = 0 } = {}) {
    if (typeof stream !== "string" || !stream) throw new TypeError("subscribe needs a stream slug");
    if (!this.#streams.has(stream)) {
      this.#streams.add(stream, backfill);
      this.#pump();
    }
    return () => this.unsubscribe(stream);
  }

  unsubscribe(stream) {
    if (!this.#streams.has(stream)) return;
    const serverKnows = this.#streams.remove(stream);
    if (this.#state === State.CONNECTED && serverKnows) {
      this.#enqueue({ type: "unsubscribe", stream });
    }
  }

  send(command) {
    if (!command || typeof command.type !== "string") {
      throw new TypeError("a command is an object with a string `type`");
    }
    // Subscriptions must go through the bookkeeping, or their data would be dropped.
    if (command.type === "subscribe") return void this.subscribe(command.stream, command);
    if (command.type === "unsubscribe") return void this.unsubscribe(command.stream);
    this.#enqueue(command);
  }

  // --- connection --------------------------------------------------------

  #openSocket() {
    let socket;
    try {
      socket = new this.#WebSocket(this.#url);
    } catch (error) {
      this.#emit("error", { code: "connect_failed", message: String(error?.message ?? error) });
      this.#scheduleReconnect({ opened: false });
      return;
    }
    this.#socket = socket;
    // A socket closed before it opened was refused at the handshake (logged
    // out, foreign origin) or never reached the server; listeners may tell which.
    let opened = false;
    socket.onopen = () => {
      opened = true;
      if (socket === this.#socket) this.#handleOpen();
    };
    socket.onmessage = (event) => socket === this.#socket && this.#handleMessage(event.data);
    socket.onclose = (event) => socket === this.#socket && this.#handleClose(event, opened);
    socket.onerror = () => this.#log("socket error");
  }

  #abandonSocket() {
    const socket = this.#socket;
    this.#socket = null;
    if (!socket) return;
    socket.onopen = socket.onmessage = socket.onclose = socket.onerror = null;
    try {
      socket.close(CLOSE_NORMAL);
    } catch {
      // Already closing: nothing left to release.
    }
  }

  #handleOpen() {
    const now = this.#now();
    this.#counters.connectedSince = now;
    this.#lastReceivedAt = now;
    this.#bucket.fill(now);
    this.#sent.clear();
    this.#streams.resetForNewConnection();
    this.#setState(State.CONNECTED);
    // Ping at once and ahead of the queued commands: the server answers in order,
    // and a ping behind a dozen backfills would measure them, not the round trip.
    this.#heartbeat();
    this.#pump();
  }

  #handleClose(event, opened) {
    this.#socket = null;
    this.#stopTimers();
    this.#counters.connectedSince = null;
    this.hello = null;
    const detail = { code: event?.code, reason: event?.reason, opened };
    if (detail.code === CLOSE_UNAUTHENTICATED) {
      this.#setState(State.DISCONNECTED, detail);
      return;
    }
    this.#scheduleReconnect(detail);
  }

  // An attempt that never opened found no server (or was refused at the handshake,
  // which the page checks on its own): try again within a second, which costs a
  // server that is away nothing. One that opened and then closed met a server that
  // is there but not ready: back off.
  #scheduleReconnect(detail = {}) {
    const delay =
      detail.opened === false
        ? unreachableDelay(this.#backoff, this.#random)
        : backoffDelay(this.#attempt, this.#backoff, this.#random);
    this.#attempt += 1;
    this.#setState(State.RECONNECTING, { ...detail, delay });
    this.#reconnectTimer = this.#setTimeout(() => {
      this.#reconnectTimer = null;
      this.#openSocket();
    }, delay);
  }

  #scheduleHeartbeat() {
    this.#heartbeatTimer = this.#setTimeout(() => this.#heartbeat(), this.#pingInterval);
  }

  #heartbeat() {
    this.#heartbeatTimer = null;
    if (this.#state !== State.CONNECTED) return;
    const now = this.#now();
    if (now - this.#lastReceivedAt >= this.#pingInterval * DEAD_AFTER_INTERVALS) {
      this.#abandonSocket();
      this.#handleClose({ code: null, reason: "no frames from the server" }, true);
      return;
    }
    // A ping is only worth its timestamp now; skip it rather than queue it.
    if (this.#bucket.take(now)) this.#transmit({ type: "ping", t: now });
    this.#scheduleHeartbeat();
  }

  #stopTimers() {
    if (this.#heartbeatTimer !== null) this.#clearTimeout(this.#heartbeatTimer);
    if (this.#pumpTimer !== null) this.#clearTimeout(this.#pumpTimer);
    this.#heartbeatTimer = null;
    this.#pumpTimer = null;
  }

  #setState(state, detail = {}) {
    const previous = this.#state;
    this.#state = state;
    this.#emit("state", { state, previous, ...detail });
  }

  // --- outgoing ----------------------------------------------------------

  #enqueue(command) {
    this.#counters.dropped += this.#outbox.push(command);
    this.#pump();
  }

  #pump() {
    if (this.#state !== State.CONNECTED || this.#pumpTimer !== null) return;
    while (this.#outbox.size > 0) {
      if (!this.#bucket.take(this.#now())) {
        this.#pumpTimer = this.#setTimeout(() => {
          this.#pumpTimer = null;
          this.#pump();
        }, this.#bucket.wait());
        return;
      }
      this.#transmit(this.#outbox.next());
    }
  }

  #transmit(command) {
    const socket = this.#socket;
    if (!socket || socket.readyState !== SOCKET_OPEN) return;
    // Every command but ping carries a ref, so an error names what caused it.
    if (command.type !== "ping") command = this.#sent.stamp(command);
    const text = JSON.stringify(command);
    this.#log("→", text);
    socket.send(text);
    this.#counters.sent += 1;
    if (command.type === "publish") this.#counters.samplesSent += command.samples?.length ?? 0;
  }

  // --- incoming ----------------------------------------------------------

  #handleMessage(text) {
    this.#lastReceivedAt = this.#now();
    this.#counters.received += 1;
    this.#log("←", text);
    let message;
    try {
      message = JSON.parse(text);
    } catch {
      return;
    }
    if (!message || typeof message.type !== "string") return;
    const command = this.#sent.take(message.ref);
    this.#emit("message", message);
    switch (message.type) {
      case "hello":
        return this.#handleHello(message);
      case "subscribed":
        return this.#handleSubscribed(message);
      case "data":
        return this.#handleData(message);
      case "pong":
        return this.#handlePong(message);
      case "error":
        return this.#handleError(message, command);
      default:
        // status, presence, unsubscribed and anything newer pass straight through.
        return this.#emit(message.type, message);
    }
  }

  #handleHello(message) {
    this.hello = message;
    this.#attempt = 0;
    // Reconnections, not attempts: a welcome after an earlier one.
    if (this.#welcomed) this.#counters.reconnects += 1;
    this.#welcomed = true;
    const { commands_per_second: perSecond, command_burst: burst } = message.limits ?? {};
    if (perSecond > 0 && burst > 0) this.#bucket.configure(pacing(perSecond, burst));
    this.#emit("hello", message);
  }

  #handleSubscribed(message) {
    if (this.#streams.acknowledged(message.stream, message)) {
      this.#emit("reset", { stream: message.stream });
    }
    this.#emit("subscribed", message);
  }

  #handleData(message) {
    if (!Array.isArray(message.samples)) return;
    const { fresh, holes, live } = this.#streams.accept(message.stream, message.samples);
    this.#counters.samples += fresh.length;
    this.#counters.liveSamples += live;
    this.#counters.gaps += holes.length;
    for (const hole of holes) this.#emit("gap", { stream: message.stream, ...hole });
    // The samples after a hole are delivered now; the resubscribe fills it later.
    if (fresh.length) this.#emit("data", { stream: message.stream, samples: fresh });
    if (holes.length) this.#pump();
  }

  #handlePong(message) {
    if (typeof message.t !== "number") return;
    const rtt = this.#now() - message.t;
    this.#counters.rtt = rtt;
    this.#emit("rtt", { rtt, serverTime: message.server_time });
  }

  #handleError(message, command) {
    const stream = typeof command?.stream === "string" ? command.stream : undefined;
    const isSubscribe = command?.type === "subscribe";
    if (message.code === "rate_limited") {
      // Let the bucket refill before anything else goes out.
      this.#bucket.empty(this.#now());
      if (isSubscribe) {
        this.#streams.requestAgain(stream);
        this.#pump();
      }
    } else if (isSubscribe && FATAL_SUBSCRIBE_ERRORS.has(message.code)) {
      this.#streams.remove(stream);
    }
    this.#emit("error", { ...message, stream, command });
  }

  #emit(event, payload) {
    this.#events.emit(event, payload);
  }

  #log(...parts) {
    if (this.#debug) console.debug("[live]", ...parts);
  }
}
