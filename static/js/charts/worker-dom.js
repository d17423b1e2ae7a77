// The little of a document that uPlot asks for, inside the chart worker. uPlot
// builds its wrapper elements and reads the display's pixel ratio when it makes
// a chart; in the worker nobody sees those elements — the page shows the one
// canvas it handed over — so they are plain objects here, and the canvas uPlot
// asks for is the one handed over (`handOver`). Imported before uPlot, and only
// where there is no document; the page's pixel ratio comes in the worker's
// address (`?dpr=2`).

let handedOver = null;

/** Make the next canvas uPlot asks for `canvas` (an OffscreenCanvas from the page). */
export function handOver(canvas) {
  handedOver = canvas;
}

class Part {
  constructor(tag) {
    this.tagName = tag.toUpperCase();
    this.style = {};
    this.childNodes = [];
    this.parentNode = null;
    this.textContent = "";
    this.classList = new Classes();
  }

  appendChild(child) {
    return this.insertBefore(child, null);
  }

  insertBefore(child, before) {
    child.remove?.();
    const at = before ? this.childNodes.indexOf(before) : -1;
    this.childNodes.splice(at < 0 ? this.childNodes.length : at, 0, child);
    child.parentNode = this;
    return child;
  }

  removeChild(child) {
    this.childNodes = this.childNodes.filter((node) => node !== child);
    child.parentNode = null;
    return child;
  }

  remove() {
    this.parentNode?.removeChild(this);
  }

  setAttribute() {}

  addEventListener() {}

  removeEventListener() {}

  getBoundingClientRect() {
    return { left: 0, top: 0, right: 0, bottom: 0, width: 0, height: 0, x: 0, y: 0 };
  }
}

class Classes {
  #names = new Set();

  add(name) {
    this.#names.add(name);
  }

  remove(name) {
    this.#names.delete(name);
  }

  contains(name) {
    return this.#names.has(name);
  }
}

function canvasPart() {
  if (!handedOver) throw new Error("the chart worker was asked for a canvas it was not given");
  const canvas = handedOver;
  handedOver = null;
  // uPlot sizes its canvas through `style` too; the page sizes the one it shows.
  Object.assign(canvas, { style: {}, classList: new Classes(), parentNode: null, remove() {} });
  return canvas;
}

if (typeof document === "undefined") {
  globalThis.window = globalThis;
  globalThis.document = { createElement: (tag) => (tag === "canvas" ? canvasPart() : new Part(tag)) };
  // The page's pixel ratio comes in the worker's address (uPlot reads it once, as it loads).
  const ratio = Number(new URL(globalThis.location.href).searchParams.get("dpr"));
  globalThis.devicePixelRatio = ratio > 0 ? ratio : 1;
  globalThis.matchMedia ??= () => ({ matches: false, addEventListener() {}, removeEventListener() {} });
}
