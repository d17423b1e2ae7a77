// One animation-frame loop for every widget of a page: each widget asks for a
// redraw as often as data arrives and is drawn at most once per frame. Pausing
// holds the redraws back; resuming draws each widget once, with all it got meanwhile.

export class FrameScheduler {
  #pending = new Set();
  #handle = null;
  #paused = false;
  #request;
  #cancel;

  constructor({
    request = (callback) => globalThis.requestAnimationFrame(callback),
    cancel = (handle) => globalThis.cancelAnimationFrame(handle),
  } = {}) {
    this.#request = request;
    this.#cancel = cancel;
  }

  get paused() {
    return this.#paused;
  }

  /** Run `draw` in the next frame (once, however often it is asked for). */
  schedule(draw) {
    this.#pending.add(draw);
    this.#arm();
  }

  /** Forget a redraw that was asked for (the widget is gone). */
  forget(draw) {
    this.#pending.delete(draw);
  }

  pause() {
    this.#paused = true;
    if (this.#handle !== null) this.#cancel(this.#handle);
    this.#handle = null;
  }

  resume() {
    this.#paused = false;
    this.#arm();
  }

  #arm() {
    if (this.#paused || this.#handle !== null || this.#pending.size === 0) return;
    this.#handle = this.#request(() => this.#run());
  }

  #run() {
    this.#handle = null;
    const draws = [...this.#pending];
    this.#pending.clear();
    for (const draw of draws) {
      try {
        draw();
      } catch (error) {
        // One broken widget must not keep the others from drawing.
        console.error("widget failed to draw", error);
      }
    }
  }
}

/** The page's scheduler; widgets share it so that pausing the view pauses them all. */
export const frames = new FrameScheduler();
