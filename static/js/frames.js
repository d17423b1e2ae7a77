// One animation-frame loop for every widget of a page: each widget asks for a
// redraw as often as data arrives and is drawn at most once per frame. Pausing
// holds the redraws back; resuming draws each widget once, with all it got meanwhile.
//
// The loop draws in at most 30 frames a second (`REQUEST_AFTER_MS`): a live chart moves
// smoothly at 30, and every frame the page asks for costs it style, layout,
// paint and a commit to the compositor, changed or not. So after a drawn frame
// the loop does not ask for the next animation frame until the gap has nearly
// passed (a timer), rather than asking for every frame and skipping some.
// Widgets that wait for an interval of their own (text, every 200 ms) ask with
// `scheduleSoon`: drawn in the next frame the loop draws for any widget, and
// only when none comes within `slack` in a frame of their own. With a chart
// moving, their changes ride in its frames instead of adding frames.

/**
 * After a drawn frame, the next is asked for no sooner than this: just past
 * the next frame of a 60 Hz display, so the one after it is drawn (1/30 s).
 */
export const REQUEST_AFTER_MS = 1000 / 60 + 2;

export class FrameScheduler {
  #pending = new Set();
  #soon = new Set(); // drawn with the next frame, or when their timer runs out
  #soonTimer = null;
  #soonDeadline = Infinity;
  #frame = null; // the animation frame asked for
  #timer = null; // the timer that will ask for it
  #paused = false;
  #request;
  #cancel;
  #timers;
  #now;
  #requestAfter;
  #lastDrawn = -Infinity;
  #pauseWatchers = new Set();

  /**
   * `request`/`cancel` ask for and cancel an animation frame; `timers`
   * ({setTimeout, clearTimeout}) and `now` are the clock (the tests' is fake);
   * `requestAfter` 0 draws in every frame.
   */
  constructor({
    request = (callback) => globalThis.requestAnimationFrame(callback),
    cancel = (handle) => globalThis.cancelAnimationFrame(handle),
    timers = globalThis,
    now = () => globalThis.performance.now(),
    requestAfter = REQUEST_AFTER_MS,
  } = {}) {
    this.#request = request;
    this.#cancel = cancel;
    this.useClock({ timers, now });
    this.#requestAfter = requestAfter;
  }

  /** Run on another clock: `timers` ({setTimeout, clearTimeout}) and `now()` in ms. */
  useClock({ timers, now }) {
    this.#timers = timers;
    this.#now = now;
  }

  get paused() {
    return this.#paused;
  }

  /** Run `draw` in the next frame the loop draws in (once, however often it is asked for). */
  schedule(draw) {
    this.#soon.delete(draw);
    this.#pending.add(draw);
    this.#arm();
  }

  /** Run `draw` in the next frame the loop draws anyway, or in one of its own within `slack` ms. */
  scheduleSoon(draw, slack) {
    if (this.#pending.has(draw)) return;
    this.#soon.add(draw);
    const deadline = this.#now() + slack;
    if (deadline >= this.#soonDeadline || this.#paused) return;
    if (this.#soonTimer !== null) this.#timers.clearTimeout(this.#soonTimer);
    this.#soonDeadline = deadline;
    this.#soonTimer = this.#timers.setTimeout(() => this.#promote(), slack);
  }

  /** Forget a redraw that was asked for (the widget is gone). */
  forget(draw) {
    this.#pending.delete(draw);
    this.#soon.delete(draw);
  }

  /** Call `watcher(paused)` whenever the page pauses or resumes; returns the function that stops it. */
  watchPause(watcher) {
    this.#pauseWatchers.add(watcher);
    return () => this.#pauseWatchers.delete(watcher);
  }

  pause() {
    this.#paused = true;
    for (const watcher of this.#pauseWatchers) watcher(true);
    if (this.#frame !== null) this.#cancel(this.#frame);
    if (this.#timer !== null) this.#timers.clearTimeout(this.#timer);
    this.#frame = null;
    this.#timer = null;
    this.#soonTimerClear();
  }

  resume() {
    this.#paused = false;
    for (const watcher of this.#pauseWatchers) watcher(false);
    this.#promote();
  }

  // The draws that waited for company go into the next frame.
  #promote() {
    this.#soonTimerClear();
    for (const draw of this.#soon) this.#pending.add(draw);
    this.#soon.clear();
    this.#arm();
  }

  #soonTimerClear() {
    if (this.#soonTimer !== null) this.#timers.clearTimeout(this.#soonTimer);
    this.#soonTimer = null;
    this.#soonDeadline = Infinity;
  }

  #arm() {
    if (this.#paused || this.#frame !== null || this.#timer !== null || this.#pending.size === 0) return;
    const wait = this.#lastDrawn + this.#requestAfter - this.#now();
    if (wait > 0) {
      this.#timer = this.#timers.setTimeout(() => {
        this.#timer = null;
        this.#arm();
      }, wait);
    } else {
      this.#frame = this.#request(() => this.#run());
    }
  }

  #run() {
    this.#frame = null;
    this.#lastDrawn = this.#now();
    const draws = new Set([...this.#pending, ...this.#soon]);
    this.#pending.clear();
    this.#soon.clear();
    this.#soonTimerClear();
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
