// Listeners by event name; one failing listener never keeps the event from the others.

export class Emitter {
  #listeners = new Map();

  /** Register `listener` for `event`; return a function that removes it. */
  on(event, listener) {
    if (!this.#listeners.has(event)) this.#listeners.set(event, new Set());
    this.#listeners.get(event).add(listener);
    return () => this.#listeners.get(event)?.delete(listener);
  }

  emit(event, payload) {
    const listeners = this.#listeners.get(event);
    if (!listeners) return;
    for (const listener of [...listeners]) {
      try {
        listener(payload);
      } catch (error) {
        // A broken widget must not stop the others from getting their data.
        console.error(`listener for "${event}" failed`, error);
      }
    }
  }
}
