import assert from "node:assert/strict";
import { test } from "node:test";

import { freshnessTitle, watchFreshness } from "../../static/js/freshness.js";
import { Emitter } from "../../static/js/live/emitter.js";

const at = (ms) => `t=${ms}`;

test("the dot's tooltip says whether the widget is live, stopped or not live, and when it last changed", () => {
  assert.equal(freshnessTitle({ stale: false, stopped: false, lastUpdate: 5 }, at), "Source running · last update t=5");
  assert.equal(freshnessTitle({ stale: false, stopped: true, lastUpdate: 5 }, at), "Source stopped · last update t=5");
  assert.equal(freshnessTitle({ stale: true, stopped: true, lastUpdate: null }, at), "Not live: reconnecting · no update yet");
});

// Just enough of a tile for the module: class list, title, one flag element.
class FakeElement {
  classes = new Set();
  title = "";
  children = new Map();
  classList = { toggle: (name, on) => (on ? this.classes.add(name) : this.classes.delete(name)) };
  querySelector(selector) {
    return this.children.get(selector) ?? null;
  }
  after(element) {
    this.parent.children.set(".widget-flag", element);
    element.remove = () => this.parent.children.delete(".widget-flag");
  }
}

function tile() {
  const article = new FakeElement();
  const header = Object.assign(new FakeElement(), { parent: article });
  article.children.set(".widget-header", header).set(".widget-source", new FakeElement());
  const item = new FakeElement();
  item.children.set(".widget", article);
  return { item, article };
}

test("every widget is stale while the client is not connected; the one whose source stopped says so", () => {
  const { setInterval, clearInterval } = globalThis;
  globalThis.document = { createElement: () => Object.assign(new FakeElement(), { textContent: "" }) };
  globalThis.setInterval = () => 0;
  globalThis.clearInterval = () => {};
  const events = new Emitter();
  const client = { state: "connected", on: (name, listener) => events.on(name, listener) };
  const tiles = { 1: tile(), 2: tile() };
  const host = {
    mode: { mode: "live" },
    widgets: [
      { id: 1, stream: "a", series: [] },
      { id: 2, stream: "b", series: [{ stream: "a" }] },
    ],
  };
  const grid = { tile: (id) => tiles[id].item };
  let now = 1000;
  const stop = watchFreshness({ client, host, grid, now: () => now, formatTime: at });

  events.emit("data", { stream: "a", samples: [] });
  events.emit("subscribed", { stream: "a", running: true });
  assert.deepEqual([...tiles[1].article.classes], []);
  assert.equal(tiles[2].article.querySelector(".widget-source").title, "Source running · last update t=1000");

  now = 2000;
  client.state = "reconnecting";
  events.emit("state", { state: "reconnecting" });
  for (const id of [1, 2]) assert.ok(tiles[id].article.classes.has("is-stale"), `widget ${id} is stale`);
  assert.equal(tiles[1].article.querySelector(".widget-source").title, "Not live: reconnecting · last update t=1000");

  client.state = "connected";
  events.emit("state", { state: "connected" });
  events.emit("status", { stream: "b", running: false });
  assert.ok(!tiles[1].article.classes.has("is-stale"));
  assert.ok(tiles[2].article.classes.has("is-stopped"));
  assert.equal(tiles[2].article.querySelector(".widget-flag").textContent, "Stopped");
  assert.equal(tiles[1].article.querySelector(".widget-flag"), null);

  events.emit("status", { stream: "b", running: true });
  assert.equal(tiles[2].article.querySelector(".widget-flag"), null, "the flag goes when the source runs again");
  host.mode = { mode: "history" };
  client.state = "reconnecting";
  events.emit("state", { state: "reconnecting" });
  assert.ok(!tiles[1].article.classes.has("is-stale"), "a past range is not stale");
  stop();
  delete globalThis.document;
  Object.assign(globalThis, { setInterval, clearInterval });
});
