// The overview page: a card per stream the user may read, all fed by one
// live connection, and the connection's health in the page header.

import { keepAlive, liveUrl, startStatsTicker, watchConnection } from "../connection.js";
import { LiveClient } from "../live.js";
import { createStreamCard } from "../stream-card.js";

const BACKFILL = 300;

function showEmpty(grid) {
  const empty = document.createElement("p");
  empty.className = "empty-state";
  empty.textContent = "No streams to show yet. Streams you may read appear here as soon as they exist.";
  grid.append(empty);
}

function main() {
  const streams = JSON.parse(document.getElementById("streams-data").textContent);
  const grid = document.getElementById("stream-grid");
  const badge = document.getElementById("connection-state");
  const note = document.getElementById("connection-note");
  const debug = new URLSearchParams(location.search).has("debug");
  const client = new LiveClient({ url: liveUrl(), debug });

  const cards = new Map();
  for (const stream of streams) {
    const card = createStreamCard(stream, { sendCommand: (command) => client.send(command) });
    cards.set(stream.slug, card);
    grid.append(card.element);
  }
  if (!streams.length) showEmpty(grid);

  watchConnection(client, { badge, note });
  client.on("data", ({ stream, samples }) => cards.get(stream)?.push(samples));
  client.on("subscribed", (message) => cards.get(message.stream)?.setRunning(message.running));
  client.on("status", (message) => cards.get(message.stream)?.setRunning(message.running, message.by));
  client.on("presence", (message) => cards.get(message.stream)?.setPresence(message));
  client.on("reset", ({ stream }) => cards.get(stream)?.reset());
  client.on("error", (error) => {
    const card = cards.get(error.stream);
    if (card) card.showError(error);
    else console.warn("live connection error", error);
  });

  startStatsTicker(client, {
    received: document.getElementById("stat-received"),
    rate: document.getElementById("stat-rate"),
    rtt: document.getElementById("stat-rtt"),
    reconnects: document.getElementById("stat-reconnects"),
  });

  for (const stream of streams) client.subscribe(stream.slug, { backfill: BACKFILL });
  client.connect();

  keepAlive(client);
}

main();
