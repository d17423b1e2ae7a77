"""This process's counters and gauges (prometheus_client).

Every series carries `process="<host>:<pid>"`, so a scraper of several web
processes tells them apart; the process collector adds CPU, memory and open files.
"""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Iterable
from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    PlatformCollector,
    ProcessCollector,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

# `<name>_created` series would double every counter for nothing a dashboard uses.
disable_created_metrics()

PROCESS = f"{socket.gethostname()}:{os.getpid()}"
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

# name → (kind, help, label names)
DEFINITIONS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "pulseboard_connections": ("gauge", "Open WebSocket connections on this process.", ()),
    "pulseboard_subscriptions": ("gauge", "Stream subscriptions on this process.", ()),
    "pulseboard_samples_published_total": (
        "counter",
        "Samples published by this process (producer and pushes).",
        ("stream",),
    ),
    "pulseboard_samples_stored_total": (
        "counter",
        "Samples written to history by this process's producer.",
        (),
    ),
    "pulseboard_samples_refused_total": (
        "counter",
        "Pushed batches refused whole, and line protocol lines refused, by error code "
        "(the answer names the field).",
        ("code",),
    ),
    "pulseboard_store_failures_total": (
        "counter",
        "History writes that failed and will be retried.",
        (),
    ),
    "pulseboard_frames_sent_total": ("counter", "Data frames sent to WebSocket clients.", ()),
    "pulseboard_frames_skipped_total": (
        "counter",
        "Live frames not sent because the client had them.",
        (),
    ),
    "pulseboard_samples_refilled_total": (
        "counter",
        "Samples sent from history to fill a hole in a client's live feed.",
        (),
    ),
    "pulseboard_frames_dropped_total": (
        "counter",
        "Live frames dropped for a client whose queue was full (it refills from history).",
        (),
    ),
    "pulseboard_clients_dropped_total": (
        "counter",
        "Clients closed for not answering pings (they stopped reading).",
        (),
    ),
    "pulseboard_errors_total": ("counter", "Error frames sent, by code.", ("code",)),
    "pulseboard_connections_refused_total": (
        "counter",
        "WebSocket connections refused, by reason.",
        ("reason",),
    ),
    "pulseboard_stream_running": ("gauge", "1 when the stream's source is running.", ("stream",)),
    "pulseboard_cluster_connections": (
        "gauge",
        "Open WebSocket connections on every web process of the cluster.",
        (),
    ),
    "pulseboard_cluster_users": ("gauge", "Distinct viewers connected to the cluster.", ()),
    "pulseboard_cluster_subscriptions": (
        "gauge",
        "Stream subscriptions on every web process of the cluster.",
        (),
    ),
}


class ProcessLabelled(Collector):
    """Every sample of `inner`, with this process's label added."""

    def __init__(self, inner: CollectorRegistry, labels: dict[str, str]):
        self.inner = inner
        self.labels = labels

    def collect(self) -> Iterable[Metric]:
        _fold_tallies()
        for family in self.inner.collect():
            family.samples = [
                sample._replace(labels={**sample.labels, **self.labels})
                for sample in family.samples
            ]
            yield family


_own = CollectorRegistry(auto_describe=True)
ProcessCollector(registry=_own)
PlatformCollector(registry=_own)
_metrics: dict[str, Any] = {
    name: (Counter if kind == "counter" else Gauge)(
        name, help_text, labelnames=labels, registry=_own
    )
    for name, (kind, help_text, labels) in DEFINITIONS.items()
}
registry = CollectorRegistry()
registry.register(ProcessLabelled(_own, {"process": PROCESS}))


def _series(name: str, labels: dict[str, str]) -> Any:
    metric = _metrics[name]
    return metric.labels(**labels) if labels else metric


class Tally:
    """A counter bumped per frame per socket: a plain int, added to its series when read.

    Only the event loop adds to `count`; readers of the metrics fold what it
    gained since the last reading into the Prometheus counter, under a lock.
    """

    def __init__(self, name: str):
        self.name = name
        self.count = 0
        self.folded = 0

    def fold(self) -> None:
        count = self.count
        if count != self.folded:
            _metrics[self.name].inc(count - self.folded)
            self.folded = count


_tallies: list[Tally] = []
_fold_lock = threading.Lock()


def metric_tally(name: str) -> Tally:
    """Return a `Tally` of an unlabelled counter, for the hottest paths."""
    tally = Tally(name)
    _tallies.append(tally)
    return tally


def _fold_tallies() -> None:
    with _fold_lock:
        for tally in _tallies:
            tally.fold()


def metric_inc(name: str, amount: float = 1, **labels: str) -> None:
    """Add `amount` to a counter (or gauge)."""
    _series(name, labels).inc(amount)


def metric_set(name: str, value: float, **labels: str) -> None:
    """Set a gauge."""
    _series(name, labels).set(value)


def metric_value(name: str, **labels: str) -> float:
    """Return the current value of one series (0 when it was never touched)."""
    _fold_tallies()
    value = _own.get_sample_value(name, labels)
    return 0.0 if value is None else value


def metrics_render() -> bytes:
    """Return every metric of this process in the Prometheus text format."""
    return generate_latest(registry)
