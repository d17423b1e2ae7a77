// The time range of the dashboard (live, the last 5 min / hour / day, custom)
// and the playback of a past range at 0.5×–10×, with pause and scrub.

import { fetchHistory } from "../data/history.js";
import { Playback, samplesBetween } from "../data/playback.js";
import { fromLocalInput, rangeFromQuery, rangeToQuery, resolveRange, pointsFor, toLocalInput } from "../data/range.js";
import { formatDateTime } from "../format.js";

/**
 * Wire the range and playback controls to `host` (a WidgetHost). `onRange(range | null)`
 * is told the range shown, null for live. Return {range()} for exports.
 */
export function setupTimeControls({ host, note, onRange, onError }) {
  const select = document.getElementById("range-select");
  const custom = document.getElementById("custom-range");
  const fromInput = document.getElementById("range-from");
  const toInput = document.getElementById("range-to");
  const playbackBox = document.getElementById("playback");
  const toggle = document.getElementById("playback-toggle");
  const speed = document.getElementById("playback-speed");
  const scrub = document.getElementById("playback-scrub");
  const clock = document.getElementById("playback-time");
  let range = null;
  let loaded = null;
  let playback = null;
  let frame = null;
  let lastTick = 0;
  let loading = 0;

  if (!select) return { range: () => null };

  function showNote(text) {
    note.textContent = text ?? "";
    note.hidden = !text;
  }

  async function apply(choice, customRange) {
    stopPlaying();
    range = resolveRange(choice, Date.now(), customRange);
    history.replaceState(null, "", `${location.pathname}${rangeToQuery(location.search, choice, range)}${location.hash}`);
    playbackBox.hidden = range === null;
    onRange(range);
    if (range === null) {
      loaded = null;
      showNote("");
      host.setMode({ mode: "live" });
      return;
    }
    const ticket = ++loading;
    showNote(`Loading ${formatDateTime(range.from)} – ${formatDateTime(range.to)}…`);
    const points = pointsFor(document.getElementById("board-grid")?.clientWidth);
    const samples = new Map();
    const failures = [];
    await Promise.all(
      host.streamSlugs().map(async (slug) => {
        try {
          samples.set(slug, await fetchHistory(slug, { ...range, points }));
        } catch (error) {
          failures.push(slug);
          onError?.(error);
        }
      }),
    );
    if (ticket !== loading) return; // a newer choice took over
    loaded = samples;
    playback = new Playback(range);
    playback.speed = Number(speed.value) || 1;
    updateClock();
    host.setMode({ mode: "history", range, samples });
    const missing = failures.length ? ` Could not load ${failures.join(", ")}.` : "";
    showNote(`History from ${formatDateTime(range.from)} to ${formatDateTime(range.to)}, in buckets.${missing} Play replays it.`);
  }

  select.addEventListener("change", () => {
    custom.hidden = select.value !== "custom";
    if (select.value === "custom") {
      const now = Date.now();
      fromInput.value ||= toLocalInput(now - 3_600_000);
      toInput.value ||= toLocalInput(now);
      fromInput.focus();
      return;
    }
    apply(select.value);
  });

  custom.addEventListener("submit", (event) => {
    event.preventDefault();
    const from = fromLocalInput(fromInput.value);
    const to = fromLocalInput(toInput.value);
    if (!(from < to)) {
      toInput.setCustomValidity("The end must come after the start.");
      toInput.reportValidity();
      return;
    }
    toInput.setCustomValidity("");
    apply("custom", { from, to });
  });

  // -- playback -----------------------------------------------------------------

  function updateClock() {
    if (!playback) return;
    clock.textContent = formatDateTime(playback.position);
    scrub.value = String(Math.round(playback.fraction * 1000));
    toggle.textContent = playback.playing ? "Pause replay" : playback.done ? "Replay" : "Play";
    toggle.setAttribute("aria-pressed", String(playback.playing));
  }

  function feedUpTo(after, upTo) {
    for (const [slug, samples] of loaded) host.push(slug, samplesBetween(samples, after, upTo));
  }

  function tick(now) {
    frame = null;
    if (!playback?.playing) return;
    const { from, to } = playback.advance(now - lastTick);
    lastTick = now;
    feedUpTo(from, to);
    updateClock();
    if (playback.playing) frame = requestAnimationFrame(tick);
  }

  function startPlaying() {
    if (!playback || !loaded) return;
    if (playback.done) playback.seek(playback.from);
    // Playback shows the range as it looked live: each widget's own window, moving.
    if (host.mode.mode !== "playback") {
      host.setMode({ mode: "playback" });
      feedUpTo(-Infinity, playback.position);
    }
    playback.playing = true;
    lastTick = performance.now();
    frame = requestAnimationFrame(tick);
    updateClock();
  }

  function stopPlaying() {
    if (frame !== null) cancelAnimationFrame(frame);
    frame = null;
    if (playback) playback.playing = false;
    updateClock();
  }

  toggle?.addEventListener("click", () => (playback?.playing ? stopPlaying() : startPlaying()));
  speed?.addEventListener("change", () => {
    if (playback) playback.speed = Number(speed.value) || 1;
  });
  scrub?.addEventListener("input", () => {
    if (!playback || !loaded) return;
    playback.seekFraction(Number(scrub.value) / 1000);
    if (host.mode.mode !== "playback") host.setMode({ mode: "playback" });
    else host.clear();
    feedUpTo(-Infinity, playback.position);
    updateClock();
  });

  const initial = rangeFromQuery(location.search);
  select.value = initial.choice;
  if (initial.choice === "custom") {
    custom.hidden = false;
    fromInput.value = toLocalInput(initial.from);
    toInput.value = toLocalInput(initial.to);
    apply("custom", initial);
  } else if (initial.choice !== "live") {
    apply(initial.choice);
  }

  return { range: () => range };
}
