// Where a page's charts are drawn. Where the browser can, every chart is drawn
// by one worker (charts/chart-worker.js) on a canvas handed over to it: redrawing
// a chart — its paths, its axes' text, the canvas's pixels — then costs the
// page's main thread nothing, and live charts can move with the clock 30 times a
// second. The page sends the worker what changed, once per task that changed it
// (a socket message, say) — posting a message needs no frame of the page's own.
// Where there is no OffscreenCanvas, or the page asks for `?charts=page`, the
// same drawing runs on the page, redrawn when data arrives.

import { frames } from "../frames.js";
import { CandlePlot } from "./candle-plot.js";
import { TimeSeriesPlot } from "./timeseries-plot.js";

const PLOTS = { timeseries: TimeSeriesPlot, candlestick: CandlePlot };
// While the page is paused nothing is drawn, but samples still go to the worker
// (it trims them to its windows), this often.
const PAUSED_SEND_MS = 250;

function workerWanted() {
  if (new URLSearchParams(globalThis.location?.search ?? "").get("charts") === "page") return false;
  return typeof Worker === "function" && typeof HTMLCanvasElement?.prototype.transferControlToOffscreen === "function";
}

class WorkerCharts {
  #worker;
  #outbox = [];
  #nextId = 1;
  #names = new Map(); // id → what the chart shows, for stats
  #views = new Map();
  #viewWatchers = new Map(); // id → called when a new view arrives
  #asks = new Map();
  #pausedTimer = null;

  constructor() {
    const url = new URL("./chart-worker.js", import.meta.url);
    url.searchParams.set("dpr", String(globalThis.devicePixelRatio || 1));
    this.#worker = new Worker(url, { type: "module" });
    this.#worker.onmessage = ({ data }) => this.#receive(data);
    this.#worker.onerror = (event) => console.error("chart worker failed", event.message ?? event);
    this.flush = () => this.#flush();
    frames.watchPause((paused) => this.#post([{ op: "pause", value: paused }]));
  }

  mount(box, kind, config, { palette, size, name }) {
    const id = this.#nextId++;
    const canvas = document.createElement("canvas");
    canvas.className = "chart-canvas";
    setCanvasSize(canvas, size);
    box.append(canvas);
    const offscreen = canvas.transferControlToOffscreen();
    this.#names.set(id, name);
    // The canvas goes at once, with nothing else: it cannot wait in the outbox.
    this.#post([{ op: "create", id, kind, config, palette, size, canvas: offscreen }], [offscreen]);
    const send = (op) => this.#send({ ...op, id });
    return {
      canvas,
      push: (batch, stream) => send({ op: "push", batch, stream }),
      prepend: (batch, stream) => send({ op: "prepend", batch, stream }),
      clear: () => send({ op: "clear" }),
      halt: () => send({ op: "halt" }),
      resize(next) {
        setCanvasSize(canvas, next);
        send({ op: "size", size: next });
      },
      theme: (next) => send({ op: "theme", palette: next }),
      hover: (on) => this.#post([{ op: "hover", id, on }]),
      view: () => this.#views.get(id) ?? null,
      onView: (watcher) => this.#viewWatchers.set(id, watcher),
      draw() {},
      destroy: () => {
        this.#send({ op: "destroy", id });
        this.#names.delete(id);
        this.#views.delete(id);
        this.#viewWatchers.delete(id);
        canvas.remove();
      },
    };
  }

  /** Redraws per chart since the last ask: {name: {draws, maxGap}} (benches, tests). */
  stats() {
    const token = this.#nextId++;
    return new Promise((resolve) => {
      this.#asks.set(token, resolve);
      this.#worker.postMessage({ type: "stats", token });
    });
  }

  #send(op) {
    this.#outbox.push(op);
    if (this.#outbox.length > 1) return;
    if (frames.paused) {
      this.#pausedTimer ??= setTimeout(() => this.#flush(), PAUSED_SEND_MS);
    } else {
      queueMicrotask(this.flush);
    }
  }

  #flush() {
    clearTimeout(this.#pausedTimer);
    this.#pausedTimer = null;
    if (!this.#outbox.length) return;
    const ops = this.#outbox;
    this.#outbox = [];
    this.#worker.postMessage({ ops });
  }

  #post(ops, transfer = []) {
    // What waits in the outbox goes first, so the worker sees every change in order.
    if (this.#outbox.length) this.#flush();
    this.#worker.postMessage({ ops }, transfer);
  }

  #receive(data) {
    if (data.type === "view") {
      this.#views.set(data.id, data.view);
      this.#viewWatchers.get(data.id)?.();
    } else if (data.type === "stats") {
      const named = {};
      for (const [id, figures] of Object.entries(data.stats)) named[`${id} ${this.#names.get(Number(id)) ?? ""}`.trim()] = figures;
      this.#asks.get(data.token)?.(named);
      this.#asks.delete(data.token);
    }
  }
}

// On the page itself: the plot draws into `box` in the page's frames.
class PageCharts {
  mount(box, kind, config, { palette, size }) {
    const plot = new PLOTS[kind](box, config, { palette, size });
    const draw = () => plot.draw(null);
    frames.schedule(draw);
    const changed = (update) => (...args) => {
      update(...args);
      frames.schedule(draw);
    };
    return {
      canvas: null,
      push: changed((batch, stream) => plot.push(batch, stream)),
      prepend: changed((batch, stream) => plot.prepend(batch, stream)),
      clear: changed(() => plot.clear()),
      halt() {},
      resize: changed((next) => plot.resize(next)),
      theme: changed((next) => plot.theme(next)),
      hover() {},
      view: () => plot.view(),
      onView() {},
      draw,
      destroy() {
        frames.forget(draw);
        plot.destroy();
      },
    };
  }

  stats() {
    return Promise.resolve(null);
  }
}

function setCanvasSize(canvas, { width, height }) {
  canvas.style.width = `${width}px`;
  canvas.style.height = `${height}px`;
}

let charts = null;

/**
 * Mount a chart of `kind` ("timeseries" or "candlestick") drawn from `config` in
 * `box`; returns its handle: push/prepend(batch, stream), clear(), halt() (no
 * samples coming for now: stop moving with the clock), resize(size),
 * theme(palette), hover(on), view() (where its plot is and what x spans, or null),
 * onView(watcher) (called as the view changes while hovered), destroy(). `name` says what it shows (in the stats).
 */
export function mountChart(box, kind, config, options) {
  charts ??= workerWanted() ? new WorkerCharts() : new PageCharts();
  return charts.mount(box, kind, config, options);
}

// For benches and tests: each chart's redraws since the last ask.
globalThis.pulseboardCharts = {
  stats: () => charts?.stats() ?? Promise.resolve(null),
  get inWorker() {
    return charts instanceof WorkerCharts;
  },
};
