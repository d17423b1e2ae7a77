"""What a widget's `config` may hold, per kind, and its validation."""

from __future__ import annotations

import re
from typing import Any

from dashboards.models import WidgetKind
from streams.models import Stream

STYLES = ("line", "area", "bar", "scatter")
STATS = ("latest", "average", "min", "max", "rate")
AXES = ("left", "right")
COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")
MAX_WINDOW_POINTS = 100_000
MAX_WINDOW_SECONDS = 7 * 86_400

# Kinds that read the market's structured values rather than numeric fields.
MARKET_KINDS = {WidgetKind.CANDLESTICK, WidgetKind.ORDERBOOK, WidgetKind.TRADES}


def numeric_fields(stream: Stream) -> list[str]:
    return [field["name"] for field in stream.fields if field.get("type", "number") == "number"]


def _number(
    config: dict[str, Any], name: str, errors: dict[str, str], *, low: float, high: float
) -> None:
    value = config.get(name)
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        errors[name] = f"must be a number from {low:g} to {high:g}"


def widget_config_errors(kind: str, config: Any, stream: Stream) -> dict[str, str]:
    """Return field → problem for a widget config (empty when it is valid)."""
    if kind not in WidgetKind.values:
        return {"kind": f"must be one of {', '.join(WidgetKind.values)}"}
    if not isinstance(config, dict):
        return {"config": "must be an object"}
    errors: dict[str, str] = {}
    fields = config.get("fields", [])
    known = [field["name"] for field in stream.fields]
    if not isinstance(fields, list) or not all(isinstance(name, str) for name in fields):
        errors["fields"] = "must be a list of field names"
    else:
        unknown = [name for name in fields if name not in known]
        if unknown:
            errors["fields"] = (
                f"{', '.join(unknown)} not in {stream.slug} (it has {', '.join(known) or 'none'})"
            )
    if kind in MARKET_KINDS and stream.source_kind not in ("market", "replay"):
        errors["stream"] = "needs a market stream (trades and order book)"
    _number(config, "window_points", errors, low=1, high=MAX_WINDOW_POINTS)
    _number(config, "window_seconds", errors, low=1, high=MAX_WINDOW_SECONDS)
    _number(config, "min", errors, low=-1e12, high=1e12)
    _number(config, "max", errors, low=-1e12, high=1e12)
    _number(config, "candle_seconds", errors, low=1, high=86_400)
    _number(config, "depth", errors, low=1, high=50)
    if config.get("style", "line") not in STYLES:
        errors["style"] = f"must be one of {', '.join(STYLES)}"
    if config.get("stat", "latest") not in STATS:
        errors["stat"] = f"must be one of {', '.join(STATS)}"
    thresholds = config.get("thresholds", {})
    if not isinstance(thresholds, dict) or any(
        key not in ("warning", "critical")
        or isinstance(value, bool)
        or not isinstance(value, int | float)
        for key, value in thresholds.items()
    ):
        errors["thresholds"] = "must be numbers named warning and critical"
    colors = config.get("colors", {})
    if not isinstance(colors, dict) or any(
        not COLOR.match(str(value)) for value in colors.values()
    ):
        errors["colors"] = "must map field names to colours like #3fa7ff"
    axes = config.get("axes", {})
    if not isinstance(axes, dict) or any(value not in AXES for value in axes.values()):
        errors["axes"] = "must map field names to left or right"
    low, high = config.get("min"), config.get("max")
    if (
        "min" not in errors
        and "max" not in errors
        and low is not None
        and high is not None
        and low >= high
    ):
        errors["max"] = "must be above min"
    return errors


def widget_default_config(kind: str, stream: Stream) -> dict[str, Any]:
    """Return a sensible starting config for a new widget of `kind` on `stream`."""
    numeric = numeric_fields(stream)
    config: dict[str, Any] = {
        "fields": numeric[:3] if kind == WidgetKind.TIMESERIES else numeric[:1]
    }
    if kind == WidgetKind.TIMESERIES:
        config |= {"style": "line", "window_seconds": 120}
    elif kind == WidgetKind.GAUGE:
        config |= {"min": 0, "max": 100}
    elif kind == WidgetKind.STAT:
        config |= {"stat": "latest"}
    elif kind == WidgetKind.FEED:
        config |= {"window_points": 50, "fields": [field["name"] for field in stream.fields][:4]}
    elif kind == WidgetKind.CANDLESTICK:
        config = {"fields": ["price"], "candle_seconds": 5}
    elif kind == WidgetKind.ORDERBOOK:
        config = {"fields": ["book"], "depth": 10}
    elif kind == WidgetKind.TRADES:
        config = {"fields": ["trade"], "window_points": 30}
    return config
