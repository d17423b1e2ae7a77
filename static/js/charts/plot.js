// What every chart shares: a uPlot chart that is built (again, when its series
// or colours change), resized, given new data, and moved along its time axis.
// A kind says what it keeps and how it draws: `options()`, `data()`,
// `xRange(min, max)` and, when its series changed, `rebuild()`.

import uPlot from "../../vendor/uplot/uPlot.esm.js";

export class Plot {
  #target;
  #size;
  #beforeBuild;
  #chart = null;
  #rebuild = true;
  #changed = false;
  #resized = false;
  #right = null; // the x axis's right end while live (ms), or null: the data's own

  /**
   * `target`: the element uPlot builds its chart in (on the page), or null in the
   * worker (its canvas is the one handed over, by `beforeBuild()`, called before
   * each uPlot is made). `palette`: readPalette's colours; `size`: {width,
   * height} in CSS pixels. `config`: the widget's; a live one (no past `range`,
   * not a playback's, `followClock: false`) follows the clock.
   */
  constructor(target, config, { palette, size, beforeBuild = () => {} }) {
    this.followsClock = !config.range && config.followClock !== false;
    this.#target = target;
    this.palette = palette;
    this.#size = size;
    this.#beforeBuild = beforeBuild;
  }

  get chart() {
    return this.#chart;
  }

  /** The x axis's right end while live (ms), or null. */
  get right() {
    return this.#right;
  }

  /** The data changed: the next draw gives the chart `data()`. */
  changed() {
    this.#changed = true;
  }

  /** The series changed: the next draw builds the chart anew. */
  rebuild() {
    this.#rebuild = true;
  }

  resize(size) {
    this.#size = size;
    this.#resized = true;
  }

  theme(palette) {
    this.palette = palette;
    this.#rebuild = true;
  }

  /** Whether to build a chart at all (a time series waits for a number). */
  ready() {
    return true;
  }

  /**
   * Draw what changed; `right` (ms) ends the x axis there (a live chart moving
   * with the clock), null leaves it at the data's own end. Returns whether it drew.
   */
  draw(right = null) {
    const moved = right !== this.#right;
    this.#right = right;
    if (this.#rebuild) return this.#build();
    if (!this.#chart) return false;
    if (this.#resized) {
      this.#resized = false;
      this.#chart.setSize(this.#size);
    }
    if (this.#changed) {
      this.#changed = false;
      this.#chart.setData(this.data());
      return true;
    }
    const xs = this.#chart.data[0];
    if (!moved || right === null || !xs.length) return false;
    const [min, max] = this.xRange(xs[0], xs.at(-1));
    if (min === null) return false;
    this.#chart.setScale("x", { min, max });
    return true;
  }

  /** Where the plot is and what its x axis spans, for the page's readout (CSS px, seconds). */
  view() {
    const chart = this.#chart;
    if (!chart) return null;
    const ratio = uPlot.pxRatio || 1;
    const { left, top, width, height } = chart.bbox;
    return {
      left: left / ratio,
      top: top / ratio,
      width: width / ratio,
      height: height / ratio,
      xMin: chart.scales.x.min,
      xMax: chart.scales.x.max,
    };
  }

  destroy() {
    this.#chart?.destroy();
    this.#chart = null;
  }

  /** The chart's size in CSS pixels, {width, height}: the kind's options start from it. */
  get size() {
    return this.#size;
  }

  #build() {
    this.#rebuild = false;
    this.#resized = false;
    this.#changed = false;
    this.destroy();
    if (!this.ready()) return false;
    this.#beforeBuild();
    this.#chart = new uPlot(this.options(), this.data(), this.#target);
    return true;
  }
}
