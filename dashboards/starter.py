"""The dashboard every new user starts with, and the full demo dashboard."""

from __future__ import annotations

from typing import Any

from dashboards.models import Dashboard, Widget
from dashboards.services import dashboard_create
from dashboards.widgets import LAYOUT_FIELDS
from streams.models import Stream

# kind, stream, title, config, (x, y, w, h)
FULL: list[tuple[str, str, str, dict[str, Any], tuple[int, int, int, int]]] = [
    (
        "timeseries",
        "sensors.lab-1",
        "Lab 1 environment",
        {
            "fields": ["temperature", "humidity", "pressure"],
            "axes": {"temperature": "left", "humidity": "right", "pressure": "right"},
            "window_seconds": 300,
            "style": "line",
        },
        (0, 0, 6, 4),
    ),
    (
        "timeseries",
        "system.host",
        "This host",
        {
            "fields": ["cpu", "memory", "disk"],
            "thresholds": {"warning": 80, "critical": 90},
            "window_seconds": 300,
            "style": "line",
            "min": 0,
            "max": 100,
        },
        (6, 0, 6, 4),
    ),
    (
        "timeseries",
        "anomaly.demo",
        "Anomaly detector",
        {
            "fields": ["value"],
            "window_seconds": 300,
            "style": "line",
            "thresholds": {"warning": 65, "critical": 70},
        },
        (0, 4, 6, 4),
    ),
    (
        "timeseries",
        "sine.1khz",
        "Sine at 1 kHz",
        {"fields": ["value"], "window_points": 5000, "style": "area"},
        (6, 4, 6, 4),
    ),
    (
        "stat",
        "sensors.lab-1",
        "Temperature now",
        {"fields": ["temperature"], "stat": "latest"},
        (0, 8, 3, 2),
    ),
    ("stat", "sine.1khz", "Sine messages/s", {"fields": ["value"], "stat": "rate"}, (3, 8, 3, 2)),
    (
        "stat",
        "anomaly.demo",
        "Anomaly average",
        {"fields": ["value"], "stat": "average"},
        (6, 8, 3, 2),
    ),
    ("stat", "anomaly.demo", "Anomaly max", {"fields": ["value"], "stat": "max"}, (9, 8, 3, 2)),
    (
        "gauge",
        "system.host",
        "CPU",
        {"fields": ["cpu"], "min": 0, "max": 100, "thresholds": {"warning": 80, "critical": 90}},
        (0, 10, 3, 3),
    ),
    ("counter", "business.kpi", "Business events", {"fields": ["value"]}, (3, 10, 3, 3)),
    ("viewers", "sine.1khz", "Watching the sine", {"fields": []}, (6, 10, 3, 3)),
    (
        "gauge",
        "sensors.lab-2",
        "Lab 2 humidity",
        {"fields": ["humidity"], "min": 30, "max": 80},
        (9, 10, 3, 3),
    ),
    (
        "candlestick",
        "price.BTC-USD",
        "BTC-USD candles",
        {"fields": ["price"], "candle_seconds": 5},
        (0, 13, 6, 5),
    ),
    ("orderbook", "price.BTC-USD", "Order book", {"fields": ["book"], "depth": 10}, (6, 13, 3, 5)),
    (
        "trades",
        "price.BTC-USD",
        "Trades",
        {"fields": ["trade"], "window_points": 30},
        (9, 13, 3, 5),
    ),
    (
        "feed",
        "business.kpi",
        "Business feed",
        {"fields": ["label", "value"], "window_points": 50},
        (0, 18, 6, 4),
    ),
    (
        "table",
        "sensors.lab-2",
        "Lab 2 readings",
        {"fields": ["temperature", "humidity", "pressure"], "window_points": 20},
        (6, 18, 6, 4),
    ),
    (
        "ticker",
        "price.BTC-USD",
        "BTC-USD",
        {"fields": ["price", "change", "change_pct", "volume"]},
        (0, 22, 3, 2),
    ),
]
STARTER_KINDS = {"timeseries", "gauge", "stat", "feed"}


def dashboard_starter(*, owner: Any, full: bool = False) -> Dashboard:
    """Create the owner's first dashboard from the demo streams that exist."""
    dashboard = dashboard_create(
        owner=owner, title="Live overview" if full else "My first dashboard"
    )
    streams = {
        stream.slug: stream for stream in Stream.objects.filter(slug__in={row[1] for row in FULL})
    }
    rows = FULL if full else [row for row in FULL if row[0] in STARTER_KINDS][:6]
    Widget.objects.bulk_create(
        [
            Widget(
                dashboard=dashboard,
                stream=streams[slug],
                kind=kind,
                title=title,
                config=config,
                **dict(zip(LAYOUT_FIELDS, box, strict=True)),
            )
            for kind, slug, title, config, box in rows
            if slug in streams
        ]
    )
    return dashboard
