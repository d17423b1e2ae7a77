// The time range of the dashboard (live, the last 5 min / hour / day, custom,
// or what a drag across a chart spans, with Back to the range before) and the
// playback of a past range: its stored samples, paced by their time at
// 0.5×–10× or as fast as they load, with pause, speed and scrub.

import { fetchAllSamples, fetchBuckets, fetchSamples } from "../data/history.js";
import { Player } from "../data/playback.js";
import { fromLocalInput, pointsFor, rangeFromQuery, rangeToQuery, resolveRange, toLocalInput } from "../data/range.js";
import { formatDateTime, formatTime } from "../format.js";

// A range with at most this many samples per stream is shown raw (every
// sample, every field); a longer one as buckets from the coarsest tier that fits.
const RAW_RANGE_MAX = 20_000;
// Widgets that show the newest samples of a range (feeds, trades, books) get this many.
const TAIL_SAMPLES = 500;
const MAX_SEQ = 2 ** 62;

/** Return what a stream shows over a past range: {series, tail, tier, count}. */
async function loadRange(slug, range, points, share) {
  const buckets = await fetchBuckets(slug, { ...range, points }, { share });
  const count = buckets.samples.reduce((total, sample) => total + (sample.count ?? 0), 0);
  if (buckets.tier === "raw" && count <= RAW_RANGE_MAX) {
    const raw = await fetchAllSamples(slug, { ...range, max: RAW_RANGE_MAX }, { share });
    return { series: raw, tail: raw, tier: "raw", count };
  }
  const tail = await fetchSamples(slug, { ...range, beforeSeq: MAX_SEQ, limit: TAIL_SAMPLES }, { share });
  return { series: buckets.samples, tail: tail.samples, tier: buckets.tier, count };
}

/**
 * Return a range in words for its button, short enough for the toolbar's one
 * row: "Dec 7, 04:23:55 – 04:43:55" within a day, "Dec 6, 04:23 – Dec 7, 04:43"
 * across days (the menu's inputs have the seconds).
 */
export function rangeLabel({ from, to }) {
  if (sameDay(from, to)) return `${formatDateTime(from)} – ${formatTime(to, "seconds")}`;
  return `${formatDayMinute(from)} – ${formatDayMinute(to)}`;
}

// "Dec 6, 04:23": a date and time to the minute.
function formatDayMinute(ms) {
  return formatDateTime(ms).replace(/:\d{2}$/, "");
}

function sameDay(a, b) {
  return new Date(a).toDateString() === new Date(b).toDateString();
}

/**
 * Wire the range and playback controls to `host` (a WidgetHost). `onRange(range | null)`
 * is told the range shown, null for live. `share` is a secret link's token.
 * Return {range()} for exports.
 */
export function setupTimeControls({ host, note, onRange, onError, share = null }) {
  const select = document.getElementById("range-select");
  const custom = document.getElementById("custom-range");
  const customButton = document.getElementById("custom-range-button");
  const fromInput = document.getElementById("range-from");
  const toInput = document.getElementById("range-to");
  const playbackBox = document.getElementById("playback");
  const toggle = document.getElementById("playback-toggle");
  const speed = document.getElementById("playback-speed");
  const scrub = document.getElementById("playback-scrub");
  const clock = document.getElementById("playback-time");
  const back = document.getElementById("range-back");
  // The ranges shown before each zoom (a drag across a chart), newest last.
  const zooms = [];
  let range = null;
  // The choice of the range shown ("live", "1h", "custom"…).
  let shown = "live";
  let player = null;
  let frame = null;
  let loading = 0;
  let baseNote = "";
  const coarse = new Map();

  if (!select) return { range: () => null };

  function showNote(text) {
    baseNote = text ?? "";
    renderNote();
  }

  function renderNote() {
    const parts = [baseNote];
    if (coarse.size) {
      const older = [...coarse].map(([slug, rawFrom]) => (rawFrom === null ? `${slug} (all of it)` : `${slug} before ${formatDateTime(rawFrom)}`));
      parts.push(`Older than raw retention, so played from the finest rollup tier left: ${older.join(", ")}.`);
    }
    const text = parts.filter(Boolean).join(" ");
    note.textContent = text;
    note.hidden = !text;
  }

  async function apply(choice, customRange) {
    stopPlayer();
    range = resolveRange(choice, Date.now(), customRange);
    history.replaceState(null, "", `${location.pathname}${rangeToQuery(location.search, choice, range)}${location.hash}`);
    playbackBox.hidden = range === null;
    onRange(range);
    coarse.clear();
    shown = choice;
    customButton.hidden = choice !== "custom";
    if (choice === "custom") customButton.textContent = rangeLabel(range);
    if (range === null) {
      showNote("");
      host.setMode({ mode: "live" });
      return;
    }
    const ticket = ++loading;
    showNote(`Loading ${formatDateTime(range.from)} – ${formatDateTime(range.to)}…`);
    const points = pointsFor(document.getElementById("board-grid")?.clientWidth);
    const loaded = new Map();
    const failures = [];
    const tiers = new Set();
    await Promise.all(
      host.streamSlugs().map(async (slug) => {
        try {
          const data = await loadRange(slug, range, points, share);
          loaded.set(slug, data);
          if (data.count) tiers.add(data.tier);
        } catch (error) {
          failures.push(slug);
          onError?.(error);
        }
      }),
    );
    if (ticket !== loading) return; // a newer choice took over
    player = newPlayer(range);
    updateClock();
    host.setMode({ mode: "history", range, samples: loaded });
    const missing = failures.length ? ` Could not load ${failures.join(", ")}.` : "";
    const shape = tiers.size === 1 && tiers.has("raw") ? "every sample" : "each bucket's mean inside its min–max band";
    showNote(`History from ${formatDateTime(range.from)} to ${formatDateTime(range.to)}: ${shape}.${missing} Play replays the stored samples.`);
  }

  function showCustom({ from, to }) {
    select.value = "custom";
    fromInput.value = toLocalInput(from);
    toInput.value = toLocalInput(to);
    apply("custom", { from, to });
  }

  // A drag across a chart zooms to what it spans, as a custom range; Back returns.
  document.getElementById("board-grid")?.addEventListener("chart-zoom", (event) => {
    const { from, to } = event.detail;
    if (!(from < to)) return;
    zooms.push({ choice: shown, range });
    back.hidden = false;
    showCustom({ from, to });
  });
  back?.addEventListener("click", () => {
    const before = zooms.pop();
    back.hidden = zooms.length === 0;
    if (!before) return;
    if (before.choice === "custom") showCustom(before.range);
    else {
      select.value = before.choice;
      apply(before.choice);
    }
  });
  function forgetZooms() {
    zooms.length = 0;
    if (back) back.hidden = true;
  }

  // The custom range is chosen in a small menu under its button, so the
  // toolbar keeps one row; the button then says which range is shown.
  select.addEventListener("change", () => {
    forgetZooms();
    if (select.value === "custom") {
      const now = Date.now();
      fromInput.value ||= toLocalInput(range?.from ?? now - 3_600_000);
      toInput.value ||= toLocalInput(range?.to ?? now);
      customButton.hidden = false;
      if (!custom.matches(":popover-open")) customButton.click();
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
    custom.hidePopover();
    forgetZooms();
    apply("custom", { from, to });
  });
  // Closed without applying: the select goes back to what is shown.
  custom.addEventListener("toggle", (event) => {
    if (event.newState === "closed" && shown !== "custom") {
      select.value = shown;
      customButton.hidden = true;
    }
  });

  // -- playback -----------------------------------------------------------------

  function newPlayer({ from, to }) {
    const points = pointsFor(document.getElementById("board-grid")?.clientWidth);
    const made = new Player({
      from,
      to,
      slugs: host.streamSlugs(),
      fetchPage: (slug, page) => fetchSamples(slug, page, { share }),
      // The finest tier left: one bucket per second where it still has them.
      fetchBuckets: async (slug, part) =>
        (await fetchBuckets(slug, { ...part, points: Math.max(points, Math.min(10_000, Math.ceil((part.to - part.from) / 1000))) }, { share })).samples,
      onSamples: (slug, samples) => host.push(slug, samples),
      // Playback shows the range as it looked live: each widget's own window, moving.
      onReset: () => host.setMode({ mode: "playback" }),
      onCoarse: (slug, rawFrom) => {
        coarse.set(slug, rawFrom);
        renderNote();
      },
      onError: (error) => onError?.(error),
    });
    made.setSpeed(speed.value);
    return made;
  }

  function updateClock() {
    if (!player) return;
    clock.textContent = range && sameDay(range.from, range.to) ? formatTime(player.position, "seconds") : formatDayMinute(player.position);
    if (document.activeElement !== scrub) scrub.value = String(Math.round(player.fraction * 1000));
    const started = host.mode.mode === "playback";
    toggle.textContent = player.playing ? "Pause replay" : started && player.done ? "Replay" : started ? "Resume" : "Play";
    toggle.setAttribute("aria-pressed", String(player.playing));
    document.getElementById("board")?.setAttribute("data-playback", player.playing ? "playing" : started ? "paused" : "");
  }

  function loop(now) {
    frame = null;
    if (!player?.playing) return updateClock();
    player.tick(now);
    updateClock();
    frame = requestAnimationFrame(loop);
  }

  function startPlayer() {
    if (!player) return;
    player.play(performance.now());
    if (frame === null) frame = requestAnimationFrame(loop);
    updateClock();
  }

  function stopPlayer() {
    if (frame !== null) cancelAnimationFrame(frame);
    frame = null;
    player?.pause();
    updateClock();
  }

  toggle?.addEventListener("click", () => (player?.playing ? stopPlayer() : startPlayer()));
  speed?.addEventListener("change", () => player?.setSpeed(speed.value));
  scrub?.addEventListener("input", () => {
    if (!player) return;
    player.seekFraction(Number(scrub.value) / 1000);
    player.tick(performance.now()); // the samples at the new point, at once
    updateClock();
  });

  const initial = rangeFromQuery(location.search);
  select.value = initial.choice;
  if (initial.choice === "custom") {
    fromInput.value = toLocalInput(initial.from);
    toInput.value = toLocalInput(initial.to);
    apply("custom", initial);
  } else if (initial.choice !== "live") {
    apply(initial.choice);
  }

  return {
    range: () => range,
    /** The playback's state, for the page's tests: {position, playing, speed, buffered}. */
    playback: () => (player ? { position: player.position, playing: player.playing, speed: player.speed, buffered: player.buffered, mode: host.mode.mode } : null),
  };
}
