// The chart worker: draws every chart of a page on the canvases the page handed
// over, off the page's main thread. The page sends what changed (samples, sizes,
// colours) once per task that changed it (charts/host.js); here each live chart is
// redrawn up to 30 times a second, its time axis moving with the clock between
// batches of samples (charts/live-edge.js), and a chart whose data stopped stays
// still. Pausing the page pauses every chart.

import { handOver } from "./worker-dom.js";
import { CandlePlot } from "./candle-plot.js";
import { LiveEdge } from "./live-edge.js";
import { TimeSeriesPlot } from "./timeseries-plot.js";

/**
 * Charts are drawn 30 times a second: every other frame of a 60 Hz display.
 * Each drawn frame is due a 30th of a second after the one before was due, so a
 * frame drawn late (the worker was busy) is followed by one drawn early, and the
 * count keeps up with the clock. Drawing in every frame (60 a second) took half
 * as much again of a core and held the page's own frames back on a two-core
 * machine (docs/performance.md).
 */
export const DRAW_EVERY_MS = 1000 / 30;
// A frame this close to its due time is drawn (vsyncs wobble by a millisecond or two).
const DUE_SLACK_MS = 4;

const PLOTS = { timeseries: TimeSeriesPlot, candlestick: CandlePlot };

const charts = new Map(); // id → {plot, edge, hovered, dirty, and the stats: draws, maxGap, lastDrawn}
let paused = false;
let frame = null;
let nextDue = -Infinity;
let statsSince = performance.now();

const requestFrame = globalThis.requestAnimationFrame
  ? (callback) => globalThis.requestAnimationFrame(callback)
  : (callback) => setTimeout(() => callback(performance.now()), 16);

function newestT(batch) {
  let newest = -Infinity;
  for (const sample of batch) if (sample.t > newest) newest = sample.t;
  return newest;
}

const HANDLERS = {
  create({ id, kind, config, palette, size, canvas }) {
    const plot = new PLOTS[kind](null, config, { palette, size, beforeBuild: () => handOver(canvas) });
    charts.set(id, { plot, edge: new LiveEdge(), hovered: false, dirty: true, draws: 0, maxGap: 0, lastDrawn: null });
  },
  push({ id, batch, stream }) {
    const chart = charts.get(id);
    chart.plot.push(batch, stream);
    chart.edge.observe(newestT(batch), performance.now());
    chart.dirty = true;
  },
  prepend({ id, batch, stream }) {
    const chart = charts.get(id);
    chart.plot.prepend(batch, stream);
    chart.dirty = true;
  },
  clear({ id }) {
    const chart = charts.get(id);
    chart.plot.clear();
    chart.edge.reset();
    chart.dirty = true;
  },
  halt({ id }) {
    charts.get(id).edge.halt();
  },
  size({ id, size }) {
    charts.get(id).plot.resize(size);
    charts.get(id).dirty = true;
  },
  theme({ id, palette }) {
    charts.get(id).plot.theme(palette);
    charts.get(id).dirty = true;
  },
  hover({ id, on }) {
    const chart = charts.get(id);
    chart.hovered = on;
    if (on) postView(id, chart);
  },
  destroy({ id }) {
    charts.get(id)?.plot.destroy();
    charts.delete(id);
  },
  pause({ value }) {
    paused = value;
  },
};

function postView(id, chart) {
  const view = chart.plot.view();
  if (view) postMessage({ type: "view", id, view });
}

function wanted(chart, now) {
  return chart.dirty || (chart.plot.followsClock && chart.edge.moving(now));
}

function arm() {
  if (frame !== null || paused) return;
  const now = performance.now();
  for (const chart of charts.values()) {
    if (wanted(chart, now)) {
      frame = requestFrame(drawFrame);
      return;
    }
  }
}

function drawFrame(now) {
  frame = null;
  if (paused) return;
  if (now + DUE_SLACK_MS >= nextDue) {
    // Behind by more than a frame (the page was hidden, say): start again from now.
    nextDue = nextDue < now - DRAW_EVERY_MS ? now + DRAW_EVERY_MS : nextDue + DRAW_EVERY_MS;
    for (const [id, chart] of charts) {
      if (!wanted(chart, now)) continue;
      chart.dirty = false;
      let drew = false;
      try {
        drew = chart.plot.draw(chart.plot.followsClock ? chart.edge.right(now) : null);
      } catch (error) {
        // One broken chart must not keep the others from drawing.
        console.error("chart failed to draw", error);
      }
      if (!drew) continue;
      if (chart.lastDrawn !== null) chart.maxGap = Math.max(chart.maxGap, now - chart.lastDrawn);
      chart.lastDrawn = now;
      chart.draws += 1;
      if (chart.hovered) postView(id, chart);
    }
  }
  arm();
}

globalThis.onmessage = ({ data }) => {
  if (data.type === "stats") {
    // For benches and tests: redraws per chart since the last ask, over `ms` of the worker's clock.
    const now = performance.now();
    const stats = {};
    for (const [id, chart] of charts) {
      stats[id] = { draws: chart.draws, maxGap: chart.maxGap, ms: now - statsSince };
      chart.draws = 0;
      chart.maxGap = 0;
      chart.lastDrawn = null;
    }
    statsSince = now;
    postMessage({ type: "stats", token: data.token, stats });
    return;
  }
  for (const op of data.ops) {
    try {
      HANDLERS[op.op](op);
    } catch (error) {
      console.error(`chart worker: ${op.op} failed`, error);
    }
  }
  arm();
};
