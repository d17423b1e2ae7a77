import assert from "node:assert/strict";
import { test } from "node:test";

import { LiveClient, State } from "../../static/js/live.js";
import { FakeClock, fakeWebSocketClass, samples } from "./fakes.mjs";

const HELLO = {
  type: "hello",
  user: "demo",
  server_time: 0,
  limits: {
    max_frame_bytes: 65536,
    commands_per_second: 20,
    command_burst: 60,
    max_connections_per_user: 20,
    max_subscriptions: 50,
    idle_timeout: 300,
    max_backfill: 10000,
  },
  protocol: 1,
};

function setup(options = {}) {
  const clock = new FakeClock();
  const { FakeWebSocket, sockets } = fakeWebSocketClass();
  const client = new LiveClient({
    url: "ws://pulseboard.test/ws/live/",
    WebSocket: FakeWebSocket,
    setTimeout: clock.setTimeout,
    clearTimeout: clock.clearTimeout,
    now: () => clock.now,
    // 0.5 puts the jitter at zero, so delays are exact unless a test says otherwise.
    random: () => 0.5,
    ...options,
  });
  const events = { state: [], data: [], gap: [], rtt: [], error: [], subscribed: [] };
  for (const name of Object.keys(events)) client.on(name, (payload) => events[name].push(payload));
  return { clock, sockets, client, events, socket: () => sockets.at(-1) };
}

function connected(options) {
  const context = setup(options);
  context.client.connect();
  context.socket().open();
  context.socket().receive(HELLO);
  return context;
}

const seqsOf = (event) => event.samples.map((sample) => sample.seq);
// Pings go out on their own clock, and refs are numbered by the client; most
// tests are about the rest.
const withoutRef = ({ ref, ...command }) => command;
const commandsOf = (socket) => socket.sent.filter((command) => command.type !== "ping").map(withoutRef);
const subscribesOf = (socket) => socket.sentOfType("subscribe").map(withoutRef);

test("it moves through connecting, connected, reconnecting and back", () => {
  const { client, clock, sockets, events } = setup();
  assert.equal(client.state, State.DISCONNECTED);

  client.connect();
  assert.equal(client.state, State.CONNECTING);
  assert.equal(sockets.length, 1);
  assert.equal(sockets[0].url, "ws://pulseboard.test/ws/live/");

  sockets[0].open();
  assert.equal(client.state, State.CONNECTED);
  assert.equal(client.stats.connectedSince, clock.now);

  sockets[0].drop(1006);
  assert.equal(client.state, State.RECONNECTING);
  assert.equal(client.stats.connectedSince, null);
  assert.equal(sockets.length, 1, "it waits before retrying");

  clock.advance(499);
  assert.equal(sockets.length, 1);
  clock.advance(1);
  assert.equal(sockets.length, 2);
  assert.equal(client.state, State.RECONNECTING, "still reconnecting until the new socket opens");

  sockets[1].open();
  assert.equal(client.state, State.CONNECTED);
  assert.deepEqual(
    events.state.map((event) => event.state),
    ["connecting", "connected", "reconnecting", "connected"],
  );
  assert.equal(events.state[2].code, 1006);
  assert.equal(events.state[2].delay, 500);
});

test("RECONN. counts reconnections the server welcomed, not attempts", () => {
  const { client, clock, sockets } = connected();
  assert.equal(client.stats.reconnects, 0, "the first connection is no reconnection");
  sockets[0].drop(1006);
  for (let attempt = 0; attempt < 5; attempt += 1) {
    clock.advance(clock.pendingDelays()[0]);
    sockets.at(-1).drop(1006);
  }
  assert.equal(sockets.length, 6);
  assert.equal(client.stats.reconnects, 0, "five failed attempts");
  clock.advance(clock.pendingDelays()[0]);
  sockets.at(-1).open();
  sockets.at(-1).receive(HELLO);
  assert.equal(client.stats.reconnects, 1);
  sockets.at(-1).drop(1006);
  clock.advance(clock.pendingDelays()[0]);
  sockets.at(-1).open();
  sockets.at(-1).drop(1013, "try again later");
  assert.equal(client.stats.reconnects, 1, "a socket closed before its welcome is an attempt");
});

test("it sends commands given while not connected once the socket opens, in order", () => {
  const { client, sockets } = setup();
  client.send({ type: "start", stream: "sensors.lab-1" });
  client.send({ type: "stop", stream: "sensors.lab-1" });
  assert.equal(client.stats.queued, 2);

  client.connect();
  assert.deepEqual(sockets[0].sent, [], "nothing goes out before open");

  sockets[0].open();
  assert.deepEqual(commandsOf(sockets[0]), [
    { type: "start", stream: "sensors.lab-1" },
    { type: "stop", stream: "sensors.lab-1" },
  ]);
  assert.equal(client.stats.queued, 0);
  assert.equal(client.stats.sent, 3, "the two commands and the first ping");
});

test("it keeps only the newest 1000 queued commands", () => {
  // A long ping interval keeps the silent-connection check out of this test.
  const { client, clock, sockets } = setup({ pingInterval: 3_600_000 });
  for (let index = 0; index < 1005; index += 1) client.send({ type: "start", stream: "s", ref: index });
  assert.equal(client.stats.queued, 1000);
  assert.equal(client.stats.dropped, 5);

  client.connect();
  sockets[0].open();
  clock.advance(120_000);
  const refs = sockets[0].sentOfType("start").map((command) => command.ref);
  assert.equal(refs.length, 1000);
  assert.equal(refs[0], 5);
  assert.equal(refs.at(-1), 1004);
});

test("it paces a burst of commands under the server's limit", () => {
  const { client, clock, sockets } = setup();
  for (let index = 0; index < 100; index += 1) client.send({ type: "start", stream: `s${index}` });
  client.connect();
  sockets[0].open();
  const atOpen = sockets[0].sent.length;
  assert.ok(atOpen > 0 && atOpen <= HELLO.limits.command_burst, `sent ${atOpen} at once`);

  clock.advance(1000);
  const afterOneSecond = sockets[0].sent.length;
  assert.ok(afterOneSecond > atOpen, "it keeps sending as the bucket refills");
  assert.ok(afterOneSecond - atOpen <= HELLO.limits.commands_per_second);

  clock.advance(5_000);
  assert.equal(sockets[0].sentOfType("start").length, 100);
  assert.equal(client.stats.queued, 0);
});

test("it sends subscriptions before the commands that act on them", () => {
  const { client, sockets } = setup();
  client.send({ type: "start", stream: "system.cpu" });
  client.subscribe("system.cpu", { backfill: 300 });
  client.connect();
  sockets[0].open();
  assert.deepEqual(
    commandsOf(sockets[0]).map((command) => command.type),
    ["subscribe", "start"],
  );
  assert.deepEqual(commandsOf(sockets[0])[0], { type: "subscribe", stream: "system.cpu", backfill: 300 });
});

test("it drops samples it has already delivered", () => {
  const { client, socket, events } = connected();
  client.subscribe("sine.1khz", { backfill: 300 });
  socket().receive({ type: "data", stream: "sine.1khz", samples: samples(1, 2, 3) });
  socket().receive({ type: "data", stream: "sine.1khz", samples: samples(2, 3, 4) });
  socket().receive({ type: "data", stream: "sine.1khz", samples: samples(4) });

  assert.deepEqual(events.data.map(seqsOf), [[1, 2, 3], [4]]);
  assert.equal(client.stats.samples, 4);
  assert.equal(client.lastSeq("sine.1khz"), 4);
});

test("samples up to the last stored at subscribe time are the past: they are received but not live", () => {
  const { client, socket } = connected();
  client.subscribe("sine.1khz", { backfill: 300 });
  socket().receive({ type: "subscribed", stream: "sine.1khz", seq: 3, running: true, fields: [] });
  socket().receive({ type: "data", stream: "sine.1khz", samples: samples(1, 2, 3) });
  socket().receive({ type: "data", stream: "sine.1khz", samples: samples(4, 5) });

  assert.equal(client.stats.samples, 5);
  assert.equal(client.stats.liveSamples, 2);
});

test("it ignores data for streams it does not watch", () => {
  const { client, socket, events } = connected();
  client.subscribe("a");
  client.unsubscribe("a");
  assert.deepEqual(socket().sentOfType("unsubscribe").map(withoutRef), [{ type: "unsubscribe", stream: "a" }]);
  socket().receive({ type: "data", stream: "a", samples: samples(1) });
  socket().receive({ type: "data", stream: "never-asked", samples: samples(1) });
  assert.deepEqual(events.data, []);
});

test("a hole emits gap, resubscribes once with since, and still delivers the new samples", () => {
  const { client, socket, events } = connected();
  client.subscribe("sensors.lab-1", { backfill: 300 });
  socket().receive({ type: "data", stream: "sensors.lab-1", samples: samples(1, 2) });
  socket().receive({ type: "data", stream: "sensors.lab-1", samples: samples(5, 6) });

  assert.deepEqual(events.gap, [{ stream: "sensors.lab-1", from: 3, to: 4 }]);
  assert.deepEqual(events.data.map(seqsOf), [[1, 2], [5, 6]]);
  const subscribes = subscribesOf(socket());
  assert.equal(subscribes.length, 2);
  assert.deepEqual(subscribes[1], { type: "subscribe", stream: "sensors.lab-1", since: 2 });

  socket().receive({ type: "data", stream: "sensors.lab-1", samples: samples(7) });
  assert.equal(socket().sentOfType("subscribe").length, 2, "one resubscribe per hole");

  // The server answers with everything after 2; only the hole and the new sample are news.
  socket().receive({ type: "subscribed", stream: "sensors.lab-1", seq: 8, running: true, fields: [] });
  socket().receive({ type: "data", stream: "sensors.lab-1", samples: samples(3, 4, 5, 6, 7, 8) });
  assert.deepEqual(events.data.map(seqsOf).slice(2), [[7], [3, 4, 8]]);
  assert.equal(events.gap.length, 1);
  assert.equal(client.stats.gaps, 1);
});

test("a second hole before the first is filled asks again from the oldest one", () => {
  const { client, socket, events } = connected();
  client.subscribe("a");
  socket().receive({ type: "data", stream: "a", samples: samples(1) });
  socket().receive({ type: "data", stream: "a", samples: samples(3) });
  socket().receive({ type: "data", stream: "a", samples: samples(5) });

  assert.deepEqual(events.gap.map(({ from, to }) => [from, to]), [[2, 2], [4, 4]]);
  const since = socket().sentOfType("subscribe").map((command) => command.since);
  assert.deepEqual(since, [undefined, 1, 1]);
});

test("a hole the server cannot fill is given up once it has replayed past it", () => {
  const { client, clock, sockets, socket, events } = connected();
  client.subscribe("a");
  socket().receive({ type: "data", stream: "a", samples: samples(1, 2) });
  socket().receive({ type: "data", stream: "a", samples: samples(5) });
  socket().receive({ type: "subscribed", stream: "a", seq: 6, running: true, fields: [] });
  // Retention already removed 3 and 4.
  socket().receive({ type: "data", stream: "a", samples: samples(5, 6) });
  assert.deepEqual(events.data.map(seqsOf), [[1, 2], [5], [6]]);

  socket().drop(1006);
  clock.advance(500);
  sockets[1].open();
  const [resubscribe] = sockets[1].sentOfType("subscribe");
  assert.equal(resubscribe.since, 6, "it resumes after the last sample, not before the dead hole");
});

test("a reconnect restores every subscription with since, or its backfill if it had no sample", () => {
  const { client, clock, sockets, socket, events } = connected();
  client.subscribe("sensors.lab-1", { backfill: 300 });
  client.subscribe("business.sales", { backfill: 50 });
  socket().receive({ type: "data", stream: "sensors.lab-1", samples: samples(10, 11) });

  socket().drop(1011);
  clock.advance(500);
  sockets[1].open();
  assert.deepEqual(subscribesOf(sockets[1]), [
    { type: "subscribe", stream: "sensors.lab-1", since: 11 },
    { type: "subscribe", stream: "business.sales", backfill: 50 },
  ]);

  // The server resends from 11 on; nothing is delivered twice.
  sockets[1].receive({ type: "data", stream: "sensors.lab-1", samples: samples(11, 12) });
  assert.deepEqual(events.data.map(seqsOf), [[10, 11], [12]]);
  assert.equal(events.gap.length, 0);
});

/** Return the delays of `count` reconnect attempts that each open and are closed at once (a server not ready). */
function failingDelays(count, options) {
  const { client, clock, sockets } = setup(options);
  client.connect();
  const delays = [];
  for (let attempt = 0; attempt < count; attempt += 1) {
    sockets.at(-1).open();
    sockets.at(-1).drop(1013);
    delays.push(...clock.pendingDelays());
    clock.advance(delays.at(-1));
  }
  return { delays, sockets };
}

test("the reconnect delay grows by the factor and stops at the maximum", () => {
  const { delays, sockets } = failingDelays(8);
  assert.deepEqual(delays, [500, 1000, 2000, 4000, 4000, 4000, 4000, 4000]);
  assert.equal(sockets.length, 9);

  const custom = failingDelays(4, { backoff: { initial: 100, factor: 3, max: 1000, jitter: 0 } });
  assert.deepEqual(custom.delays, [100, 300, 900, 1000]);
});

test("jitter keeps each delay within 30 % of its step and never above the maximum", () => {
  assert.deepEqual(failingDelays(6, { random: () => 0 }).delays, [350, 700, 1400, 2800, 2800, 2800]);
  assert.deepEqual(failingDelays(6, { random: () => 0.999999 }).delays, [650, 1300, 2600, 4000, 4000, 4000]);

  const { delays } = failingDelays(40, { random: Math.random });
  delays.forEach((delay, attempt) => {
    const step = Math.min(4000, 500 * 2 ** attempt);
    assert.ok(delay >= step * 0.7 - 1 && delay <= Math.min(4000, step * 1.3) + 1, `${delay} for ${step}`);
  });
});

test("a welcomed connection starts the backoff over", () => {
  const { client, clock, sockets } = setup();
  client.connect();
  for (let attempt = 0; attempt < 4; attempt += 1) {
    sockets.at(-1).open();
    sockets.at(-1).drop(1013);
    clock.advance(clock.pendingDelays()[0]);
  }
  sockets.at(-1).open();
  sockets.at(-1).receive(HELLO);
  sockets.at(-1).drop(1006);
  assert.deepEqual(clock.pendingDelays(), [500]);
});

test("close code 4001 leaves it disconnected, without retrying", () => {
  const { client, clock, sockets, events } = connected();
  sockets[0].drop(4001, "unauthenticated");
  assert.equal(client.state, State.DISCONNECTED);
  assert.equal(events.state.at(-1).code, 4001);
  assert.deepEqual(clock.pendingDelays(), []);
  clock.advance(600_000);
  assert.equal(sockets.length, 1);
});

test("other 4xxx closes are retried", () => {
  const { client, clock, sockets } = connected();
  sockets[0].drop(4008, "idle");
  assert.equal(client.state, State.RECONNECTING);
  clock.advance(500);
  assert.equal(sockets.length, 2);
});

test("it pings on open and every interval after, and reports the round trip from the pong", () => {
  const { client, clock, socket, events } = connected({ pingInterval: 10_000 });
  const openedAt = clock.now;
  assert.deepEqual(socket().sentOfType("ping"), [{ type: "ping", t: openedAt }]);
  clock.advance(9_999);
  assert.equal(socket().sentOfType("ping").length, 1);
  clock.advance(1);
  const ping = socket().sentOfType("ping")[1];
  assert.equal(ping.t, openedAt + 10_000);

  clock.advance(42);
  socket().receive({ type: "pong", t: ping.t, server_time: clock.now - 20 });
  assert.equal(events.rtt.length, 1);
  assert.equal(events.rtt[0].rtt, 42);
  assert.equal(client.stats.rtt, 42);

  clock.advance(10_000);
  assert.equal(socket().sentOfType("ping").length, 3);
});

test("a connection that goes silent is replaced", () => {
  const { client, clock, sockets } = connected({ pingInterval: 10_000 });
  clock.advance(29_999);
  assert.equal(sockets.length, 1);
  clock.advance(1);
  assert.equal(client.state, State.RECONNECTING);
  assert.equal(sockets[0].closedWith, 1000);
  clock.advance(500);
  assert.equal(sockets.length, 2);
});

test("a connection that answers its pings is kept", () => {
  const { clock, sockets } = connected({ pingInterval: 10_000 });
  for (let tick = 0; tick < 10; tick += 1) {
    clock.advance(10_000);
    const ping = sockets[0].sentOfType("ping").at(-1);
    sockets[0].receive({ type: "pong", t: ping.t, server_time: clock.now });
  }
  assert.equal(sockets.length, 1);
});

test("close() ends the connection for good", () => {
  const { client, clock, sockets, events } = connected();
  client.close();
  assert.equal(client.state, State.CLOSED);
  assert.equal(sockets[0].closedWith, 1000);
  assert.deepEqual(clock.pendingDelays(), [], "no ping and no reconnect left");
  clock.advance(600_000);
  assert.equal(sockets.length, 1);
  assert.equal(events.state.at(-1).state, "closed");
});

test("close() while waiting to reconnect cancels the retry", () => {
  const { client, clock, sockets } = connected();
  sockets[0].drop(1006);
  client.close();
  clock.advance(600_000);
  assert.equal(sockets.length, 1);
  assert.equal(client.state, State.CLOSED);
});

test("connect() while waiting to reconnect tries at once", () => {
  const { client, sockets } = connected();
  sockets[0].drop(1006);
  client.connect();
  assert.equal(sockets.length, 2);
});

test("a subscription the server refuses is not asked for again", () => {
  const { client, clock, sockets, socket, events } = connected();
  client.subscribe("private.stream");
  const [subscribe] = socket().sentOfType("subscribe");
  socket().receive({ type: "error", code: "forbidden", message: "No.", ref: subscribe.ref });
  assert.equal(events.error[0].stream, "private.stream");

  socket().drop(1006);
  clock.advance(500);
  sockets[1].open();
  assert.deepEqual(sockets[1].sentOfType("subscribe"), []);
});

test("a rate-limited subscription is retried later", () => {
  const { client, clock, socket } = connected();
  client.subscribe("a");
  const [subscribe] = socket().sentOfType("subscribe");
  socket().receive({ type: "error", code: "rate_limited", message: "Slow down.", ref: subscribe.ref });
  assert.equal(socket().sentOfType("subscribe").length, 1);
  clock.advance(1000);
  assert.equal(socket().sentOfType("subscribe").length, 2);
});

test("every command but ping carries a short ref, and an error names the command's stream", () => {
  const { client, socket, events } = connected();
  client.send({ type: "start", stream: "sensors.lab-1" });
  client.send({ type: "stop", stream: "sensors.lab-1", ref: "mine" });
  const [start, stop] = socket().sent.filter((command) => command.type !== "ping");
  assert.equal(typeof start.ref, "number");
  assert.equal(stop.ref, "mine", "a ref the caller chose is kept");
  for (const command of socket().sent) {
    if (command.type !== "ping") assert.ok(String(command.ref).length <= 64);
  }

  socket().receive({ type: "error", code: "forbidden", message: "Only the owner.", ref: start.ref });
  assert.equal(events.error[0].stream, "sensors.lab-1");
  assert.equal(events.error[0].command.type, "start");
  socket().receive({ type: "error", code: "invalid_json", message: "Not JSON.", ref: null });
  assert.equal(events.error[1].stream, undefined);
});

test("a resume the server cannot fully recover is taken as it comes, without asking again", () => {
  const { client, clock, sockets, events } = connected();
  client.subscribe("a");
  sockets[0].receive({ type: "data", stream: "a", samples: samples(1, 2) });
  sockets[0].drop(1006);
  clock.advance(500);
  sockets[1].open();
  assert.equal(subscribesOf(sockets[1])[0].since, 2);

  // Samples 3 to 9 are past retention.
  sockets[1].receive({ type: "subscribed", stream: "a", seq: 12, running: true, fields: [], recovered: false });
  sockets[1].receive({ type: "data", stream: "a", samples: samples(10, 11, 12) });
  assert.deepEqual(events.data.map(seqsOf), [[1, 2], [10, 11, 12]]);
  assert.equal(subscribesOf(sockets[1]).length, 1, "no resubscribe for what is gone");
  assert.equal(events.gap.length, 0);
});

test("a server whose numbering started over is followed from its new numbers", () => {
  const { client, clock, sockets } = connected();
  const resets = [];
  client.on("reset", (event) => resets.push(event.stream));
  const delivered = [];
  client.on("data", (event) => delivered.push(...seqsOf(event)));
  client.subscribe("a");
  sockets[0].receive({ type: "data", stream: "a", samples: samples(500, 501) });
  sockets[0].drop(1006);
  clock.advance(500);
  sockets[1].open();

  // The database was reset: its last stored seq is below ours.
  sockets[1].receive({ type: "subscribed", stream: "a", seq: 3, running: true, fields: [], recovered: false });
  sockets[1].receive({ type: "data", stream: "a", samples: samples(4, 5) });
  assert.deepEqual(resets, ["a"]);
  assert.deepEqual(delivered, [500, 501, 4, 5]);
});

test("a close before the socket opened is reported as such", () => {
  const { client, sockets, events } = setup();
  client.connect();
  sockets[0].drop(1006);
  assert.equal(events.state.at(-1).opened, false);
  client.connect();
  sockets[1].open();
  sockets[1].drop(1006);
  assert.equal(events.state.at(-1).opened, true);
});

test("status and presence frames reach their listeners; off() stops them", () => {
  const { client, socket } = connected();
  const seen = [];
  const off = client.on("status", (message) => seen.push(message.running));
  client.on("presence", (message) => seen.push(message.connections));
  socket().receive({ type: "status", stream: "a", running: false, by: "demo" });
  socket().receive({ type: "presence", stream: "a", connections: 3, users: 2 });
  off();
  socket().receive({ type: "status", stream: "a", running: true, by: "demo" });
  assert.deepEqual(seen, [false, 3]);
  assert.equal(client.stats.received, 4, "hello, status, presence, status");
});

test("a listener that throws does not stop the others", (t) => {
  t.mock.method(console, "error", () => {});
  const { client, socket } = connected();
  const seen = [];
  client.on("status", () => {
    throw new Error("broken widget");
  });
  client.on("status", (message) => seen.push(message.stream));
  socket().receive({ type: "status", stream: "a", running: true, by: "x" });
  assert.deepEqual(seen, ["a"]);
});

test("the debug flag logs frames both ways", (t) => {
  const debug = t.mock.method(console, "debug", () => {});
  const quiet = connected();
  quiet.client.send({ type: "start", stream: "a" });
  assert.equal(debug.mock.callCount(), 0);

  const loud = connected({ debug: true });
  loud.client.send({ type: "start", stream: "a" });
  const lines = debug.mock.calls.map((call) => call.arguments.join(" "));
  assert.ok(lines.some((line) => line.includes("←") && line.includes('"hello"')));
  assert.ok(lines.some((line) => line.includes("→") && line.includes('"start"')));
});

// --- a server that does not answer ------------------------------------------

test("a server that does not answer is tried again every 0.6 to 1 s, however long it is away", () => {
  for (const [random, every] of [[() => 0, 600], [() => 0.5, 800], [() => 0.999999, 1000]]) {
    const { client, clock, sockets } = connected({ random });
    // The server closes as it stops (1012), then refuses connections for ten minutes.
    sockets[0].drop(1012);
    clock.advance(clock.pendingDelays()[0]);
    for (let attempt = 0; attempt < 600; attempt += 1) {
      sockets.at(-1).drop(1006);
      assert.deepEqual(clock.pendingDelays(), [every]);
      clock.advance(every);
    }
    // Back: the attempt under way opens, and the page is live.
    sockets.at(-1).open();
    sockets.at(-1).receive(HELLO);
    assert.equal(client.state, State.CONNECTED);
    assert.equal(client.stats.reconnects, 1, "one reconnection, not 601");
  }
});

test("spread at random, the pages of a server that comes back return within one second, not at once", () => {
  const returns = [];
  for (let page = 0; page < 200; page += 1) {
    const { clock, sockets } = connected({ random: Math.random });
    sockets[0].drop(1012);
    clock.advance(clock.pendingDelays()[0]);
    const backAt = clock.now + 30_000;
    // Every attempt before the server is back is refused; the first one after it opens.
    while (clock.now < backAt) {
      sockets.at(-1).drop(1006);
      clock.advance(clock.pendingDelays()[0]);
    }
    returns.push(clock.now - backAt);
  }
  assert.ok(Math.max(...returns) <= 1000, `the last page came back ${Math.max(...returns)} ms after the server`);
  const firstHalf = returns.filter((ms) => ms < 500).length;
  assert.ok(firstHalf > 40 && firstHalf < 160, `${firstHalf} of 200 in the first half second: spread, not bunched`);
});

test("a server that answers but closes at once (not ready) is backed off from, up to 4 s", () => {
  const { clock, sockets } = connected();
  sockets[0].drop(1006);
  clock.advance(500);
  sockets[1].open();
  sockets[1].drop(1013, "try again later");
  assert.deepEqual(clock.pendingDelays(), [1000], "the second step of the backoff, not a quick retry");
});
