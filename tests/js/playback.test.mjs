// Playback: paced by sample time at any speed, never ahead of what has loaded,
// paged so memory stays bounded, and pause / seek / speed at the next tick.

import assert from "node:assert/strict";
import test from "node:test";

import { Player, parseSpeed } from "../../static/js/data/playback.js";

const T0 = 1_700_000_000_000;

/** A stored stream: one sample every `stepMs` over [T0, T0 + count·step), seq from 1. */
function store(count, stepMs = 10, extra = () => ({})) {
  return Array.from({ length: count }, (_, index) => ({
    seq: index + 1,
    t: T0 + index * stepMs,
    values: { value: index, ...extra(index) },
  }));
}

/** The raw-samples API over `stored`, counting requests; `rawFrom` where raw history starts. */
function api(stored, { rawFrom = stored[0]?.t ?? null } = {}) {
  const calls = [];
  const fetchPage = async (slug, { from, to, afterSeq = null, beforeSeq = null, limit }) => {
    calls.push({ slug, from, to, afterSeq, beforeSeq, limit });
    const inRange = stored.filter((sample) => sample.t >= from && sample.t < to);
    if (beforeSeq !== null) {
      const older = inRange.filter((sample) => sample.seq < beforeSeq).slice(-limit);
      return { samples: older, next: null, rawFrom };
    }
    const page = inRange.filter((sample) => sample.seq > afterSeq).slice(0, limit);
    return { samples: page, next: page.length === limit ? page.at(-1).seq : null, rawFrom };
  };
  return { fetchPage, calls };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

function recorder() {
  const got = [];
  return { got, onSamples: (slug, samples) => got.push(...samples.map((sample) => ({ slug, ...sample }))) };
}

async function started(options) {
  const player = new Player({ slugs: ["s"], contextSize: 0, ...options });
  player.play(0);
  await settle();
  await settle();
  return player;
}

test("samples come out when the clock passes their t, scaled by the speed", async () => {
  const stored = store(1000, 10); // 10 s of 100 Hz
  const { got, onSamples } = recorder();
  const player = await started({ from: T0, to: T0 + 10_000, ...api(stored), onSamples });
  player.tick(0);
  assert.deepEqual(got.map((s) => s.seq), [1]); // t = T0 is due at once
  player.tick(100); // 100 ms at 1× → samples up to T0 + 100
  assert.equal(got.at(-1).t, T0 + 100);
  player.setSpeed(10);
  player.tick(200); // 100 ms at 10× → another second
  assert.equal(got.at(-1).t, T0 + 1100);
  player.setSpeed(0.5);
  player.tick(400); // 200 ms at 0.5× → 100 ms more
  assert.equal(got.at(-1).t, T0 + 1200);
  assert.deepEqual(got.map((s) => s.seq), Array.from({ length: got.length }, (_, i) => i + 1));
});

test("pause holds the clock and resume goes on from the same sample", async () => {
  const { got, onSamples } = recorder();
  const player = await started({ from: T0, to: T0 + 10_000, ...api(store(1000)), onSamples });
  player.tick(0);
  player.tick(500);
  const before = got.length;
  player.pause();
  player.tick(5000);
  assert.equal(got.length, before);
  player.play(5000);
  player.tick(5050);
  assert.equal(got.at(-1).t, T0 + 550);
  assert.equal(new Set(got.map((s) => s.seq)).size, got.length, "no sample twice");
});

test("the clock never runs past what has loaded: a slow page holds it, nothing is skipped", async () => {
  const stored = store(1000, 10);
  const { fetchPage } = api(stored);
  let release = null;
  const slowPages = async (slug, page) => {
    if (page.afterSeq > 0) await new Promise((resolve) => (release = resolve));
    return fetchPage(slug, page);
  };
  const { got, onSamples } = recorder();
  const player = await started({ from: T0, to: T0 + 10_000, fetchPage: slowPages, onSamples, pageSize: 100 });
  player.tick(0);
  player.tick(5000); // five seconds of wall time, but only the first page is here
  assert.equal(got.length, 100);
  assert.ok(player.position <= T0 + 990);
  release();
  await settle();
  player.tick(5001);
  player.tick(5100);
  assert.deepEqual(got.map((s) => s.seq), Array.from({ length: got.length }, (_, i) => i + 1));
  assert.ok(got.length > 100);
});

test("as fast as possible plays every sample in order, a page at a time, with little kept", async () => {
  const stored = store(20_000, 1); // 20 s at 1 kHz
  const { got, onSamples } = recorder();
  const player = await started({ from: T0, to: T0 + 20_000, ...api(stored), onSamples, pageSize: 500 });
  player.setSpeed("max");
  let now = 0;
  let maxBuffered = 0;
  while (player.playing && now < 100_000) {
    player.tick((now += 16));
    maxBuffered = Math.max(maxBuffered, player.buffered);
    await settle();
  }
  assert.equal(got.length, 20_000);
  assert.deepEqual(got.map((s) => s.seq), stored.map((s) => s.seq));
  assert.ok(maxBuffered <= 1000, `kept ${maxBuffered} samples ahead`);
  assert.equal(player.playing, false);
  assert.ok(player.done);
});

test("a seek resets the widgets, gives the samples just before the point, and plays from it", async () => {
  const stored = store(1000, 10, (index) => (index === 700 ? { label: "spike" } : {}));
  const { got, onSamples } = recorder();
  let resets = 0;
  const player = await started({ from: T0, to: T0 + 10_000, ...api(stored), onSamples, onReset: () => (resets += 1), contextSize: 50 });
  player.tick(0);
  player.tick(100);
  got.length = 0;
  player.seekFraction(0.69); // T0 + 6900
  assert.equal(resets, 2);
  await settle();
  await settle();
  assert.deepEqual(got.map((s) => s.seq), Array.from({ length: 50 }, (_, i) => 641 + i), "the 50 before the point");
  player.tick(200);
  player.tick(300); // 200 ms at 1× since the last tick
  const spike = got.find((s) => s.values.label === "spike");
  assert.ok(spike, "the labelled sample after the point plays");
  assert.equal(got.at(-1).t, T0 + 7100);
});

test("a seek while a page is in flight drops that page", async () => {
  const { fetchPage } = api(store(1000));
  const pending = [];
  const held = (slug, page) => new Promise((resolve) => pending.push(() => resolve(fetchPage(slug, page))));
  const { got, onSamples } = recorder();
  const player = new Player({ from: T0, to: T0 + 10_000, slugs: ["s"], fetchPage: held, onSamples, contextSize: 0 });
  player.play(0);
  player.seek(T0 + 5000);
  for (const resolve of pending.splice(0)) resolve();
  await settle();
  for (const resolve of pending.splice(0)) resolve();
  await settle();
  player.tick(1);
  assert.ok(got.every((s) => s.t >= T0 + 5000), "nothing from before the seek");
});

test("before raw retention the finest tier plays, and the page is told", async () => {
  const stored = store(500, 10).map((s) => ({ ...s, t: s.t + 5000 })); // raw from T0 + 5 s
  const buckets = [{ t: T0, values: { value: 1 }, min: { value: 0 }, max: { value: 9 }, count: 1000 }];
  const told = [];
  const { got, onSamples } = recorder();
  const player = await started({
    from: T0,
    to: T0 + 10_000,
    ...api(stored, { rawFrom: T0 + 5000 }),
    fetchBuckets: async (slug, range) => (range.to === T0 + 5000 ? buckets : []),
    onCoarse: (slug, rawFrom) => told.push([slug, rawFrom]),
    onSamples,
  });
  await settle();
  player.setSpeed("max");
  player.tick(1);
  assert.deepEqual(told, [["s", T0 + 5000]]);
  assert.equal(got[0].count, 1000);
  assert.equal(got[1].seq, 1);
});

test("speeds are read from the control", () => {
  assert.equal(parseSpeed("0.5"), 0.5);
  assert.equal(parseSpeed("max"), Infinity);
  assert.equal(parseSpeed("nonsense"), 1);
});
