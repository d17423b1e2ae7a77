// The page's view of its live connection: the URL to open, the state badge,
// the counters in the toolbar and the notice when the session has ended.

import { frames } from "./frames.js";
import { State } from "./live.js";

const STATS_EVERY_MS = 1000;
const STATS_WAIT_MS = 100;
const STATE_LABELS = {
  [State.CONNECTING]: "Connecting",
  [State.CONNECTED]: "Connected",
  [State.RECONNECTING]: "Reconnecting",
  [State.DISCONNECTED]: "Disconnected",
  [State.CLOSED]: "Disconnected",
};

/** Return the /ws/live/ URL of this page's host; a link holder's carries the link's secret. */
export function liveUrl(share = null) {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  const query = share ? `?share=${encodeURIComponent(share)}` : "";
  return `${scheme}//${location.host}/ws/live/${query}`;
}

export function showState(badge, { state, delay }) {
  badge.dataset.state = state;
  badge.textContent = STATE_LABELS[state] ?? state;
  if (state === State.RECONNECTING && delay !== undefined) {
    badge.title = `Next attempt in ${Math.ceil(delay / 1000)} s`;
  } else {
    badge.removeAttribute("title");
  }
}

function loginLink() {
  const link = document.createElement("a");
  link.href = `/accounts/login/?next=${encodeURIComponent(location.pathname)}`;
  link.textContent = "Log in";
  return link;
}

function showSessionEnded(note) {
  if (!note) return;
  note.replaceChildren("Your session has ended. ", loginLink(), " to see live data again.");
  note.hidden = false;
}

// The server refuses a logged-out socket at the handshake, which a browser
// reports like a network failure. The page itself answers with a redirect to
// the login page in that case (or 404 for a revoked link), and a network failure throws.
async function pageIsGone() {
  try {
    const response = await fetch(location.href, {
      redirect: "manual",
      credentials: "same-origin",
      cache: "no-store",
    });
    return response.type === "opaqueredirect" || [401, 403, 404].includes(response.status);
  } catch {
    return false;
  }
}

/**
 * Keep `badge` in step with the client's state; when a refused handshake turns
 * out to mean the session (or the link) is gone, stop retrying and say so in `note`.
 */
export function watchConnection(client, { badge, note, goneMessage = null }) {
  let checking = false;
  const gone = () => {
    if (goneMessage && note) {
      note.textContent = goneMessage;
      note.hidden = false;
    } else {
      showSessionEnded(note);
    }
  };
  client.on("state", async (change) => {
    showState(badge, change);
    if (change.state === State.DISCONNECTED && change.code === 4001) gone();
    if (change.state !== State.RECONNECTING || checking) return;
    // 4003: the link this page was opened with was revoked.
    if (change.opened !== false && change.code !== 4003) return;
    checking = true;
    if (await pageIsGone()) {
      client.close();
      gone();
    }
    checking = false;
  });
}

// Refreshed on a timer rather than per frame: figures that change 60 times a
// second cannot be read anyway.
export function startStatsTicker(client, cells) {
  // Messages are samples, not frames: one frame carries a batch of them. The rate
  // counts live samples only, so a backfill or a resume does not read as a burst.
  let previousReceived = client.stats.liveSamples;
  let previousAt = performance.now();
  const update = () => {
    const stats = client.stats;
    const now = performance.now();
    const rate = ((stats.liveSamples - previousReceived) * 1000) / Math.max(1, now - previousAt);
    previousReceived = stats.liveSamples;
    previousAt = now;
    if (cells.received) cells.received.textContent = stats.samples.toLocaleString();
    if (cells.rate) cells.rate.textContent = rate.toFixed(rate < 10 ? 1 : 0);
    if (cells.rtt) cells.rtt.textContent = stats.rtt === null ? "–" : `${Math.round(stats.rtt)} ms`;
    if (cells.reconnects) cells.reconnects.textContent = stats.reconnects.toLocaleString();
  };
  update();
  // In a frame the page draws anyway, when there is one soon; a paused view draws
  // no frames, but its connection figures go on counting.
  return setInterval(() => (frames.paused ? update() : frames.scheduleSoon(update, STATS_WAIT_MS)), STATS_EVERY_MS);
}

/** Reconnect at once when the browser is back online, and around the back/forward cache. */
export function keepAlive(client) {
  window.addEventListener("online", () => client.connect());
  window.addEventListener("pagehide", () => client.close());
  window.addEventListener("pageshow", (event) => {
    if (event.persisted) client.connect();
  });
}
