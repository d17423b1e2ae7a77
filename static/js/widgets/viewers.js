// Viewers widget: how many pages watch the stream right now, from `presence` frames.

import { TEXT_INTERVAL_MS, element, liveOnlyNote, setText } from "./common.js";
import { mountWidget } from "./scaffold.js";

export function create(el, config = {}) {
  let counts = null;
  const root = element("div", "viewers");
  const number = element("span", "viewers-value", "–");
  const caption = element("span", "viewers-caption", "watching now");
  root.append(number, caption);
  liveOnlyNote(root, config);

  return mountWidget(el, root, {
    render() {
      if (!counts) return;
      const connections = Number(counts.connections) || 0;
      const users = Number(counts.users) || 0;
      setText(number, connections.toLocaleString());
      setText(caption, `${connections === 1 ? "page" : "pages"} · ${users} signed-in ${users === 1 ? "user" : "users"}`);
    },
    minInterval: TEXT_INTERVAL_MS,
    presence(message) {
      counts = message;
    },
  });
}
