"""Counters and gauges of this process, rendered in the Prometheus text format."""

from __future__ import annotations

import threading
from collections import defaultdict

DEFINITIONS: dict[str, tuple[str, str]] = {
    "pulseboard_connections": ("gauge", "Open WebSocket connections on this process."),
    "pulseboard_subscriptions": ("gauge", "Stream subscriptions on this process."),
    "pulseboard_samples_published_total": (
        "counter",
        "Samples published by this process's producer.",
    ),
    "pulseboard_samples_stored_total": ("counter", "Samples written to history by this process."),
    "pulseboard_store_failures_total": (
        "counter",
        "History writes that failed and will be retried.",
    ),
    "pulseboard_frames_sent_total": ("counter", "Data frames sent to WebSocket clients."),
    "pulseboard_frames_skipped_total": (
        "counter",
        "Live frames not sent because the client had them.",
    ),
    "pulseboard_samples_refilled_total": (
        "counter",
        "Samples sent from history to fill a hole in a client's live feed.",
    ),
    "pulseboard_errors_total": ("counter", "Error frames sent, by code."),
    "pulseboard_connections_refused_total": (
        "counter",
        "WebSocket connections refused, by reason.",
    ),
    "pulseboard_stream_running": ("gauge", "1 when the stream's source is running."),
}

_lock = threading.Lock()
_values: dict[str, dict[tuple[tuple[str, str], ...], float]] = defaultdict(dict)


def _key(labels: dict[str, str]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(labels.items()))


def metric_inc(name: str, amount: float = 1, **labels: str) -> None:
    """Add `amount` to a counter (or gauge)."""
    key = _key(labels)
    with _lock:
        series = _values[name]
        series[key] = series.get(key, 0) + amount


def metric_set(name: str, value: float, **labels: str) -> None:
    """Set a gauge."""
    with _lock:
        _values[name][_key(labels)] = value


def metric_value(name: str, **labels: str) -> float:
    """Return the current value of one series (0 when it was never touched)."""
    with _lock:
        return _values.get(name, {}).get(_key(labels), 0)


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def metrics_render() -> str:
    """Return every metric in the Prometheus text exposition format."""
    lines = []
    with _lock:
        snapshot = {name: dict(series) for name, series in _values.items()}
    for name, (kind, help_text) in DEFINITIONS.items():
        lines.append(f"# HELP {name} {help_text}")
        lines.append(f"# TYPE {name} {kind}")
        series = snapshot.get(name) or ({(): 0.0} if not name.endswith("_running") else {})
        for labels, value in sorted(series.items()):
            label_text = ",".join(f'{k}="{_escape(v)}"' for k, v in labels)
            lines.append(f"{name}{{{label_text}}} {value:g}" if label_text else f"{name} {value:g}")
    return "\n".join(lines) + "\n"
