// Viewers widget: how many pages watch the stream right now, from `presence` frames.

import { TEXT_INTERVAL_MS, drawLoop, element, liveOnlyNote } from "./common.js";

export function create(el, config = {}) {
  let counts = null;
  const root = element("div", "viewers");
  const number = element("span", "viewers-value", "–");
  const caption = element("span", "viewers-caption", "watching now");
  root.append(number, caption);
  el.append(root);
  liveOnlyNote(root, config);

  const loop = drawLoop(() => {
    if (!counts) return;
    const connections = Number(counts.connections) || 0;
    const users = Number(counts.users) || 0;
    number.textContent = connections.toLocaleString();
    caption.textContent = `${connections === 1 ? "page" : "pages"} · ${users} signed-in ${users === 1 ? "user" : "users"}`;
  }, { minInterval: TEXT_INTERVAL_MS });

  return {
    push() {},
    presence(message) {
      counts = message;
      loop.schedule();
    },
    clear() {},
    resize() {},
    destroy() {
      loop.stop();
      root.remove();
    },
  };
}
