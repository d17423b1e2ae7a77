"""What a widget's `config` may hold, per kind, and its validation; a widget's saved values."""

from __future__ import annotations

import re
from typing import Any

from dashboards.kinds import KINDS
from dashboards.models import Widget
from streams.models import Stream

STYLES = ("line", "area", "bar", "scatter")
STATS = ("latest", "average", "min", "max", "stddev", "rate")
AXES = ("left", "right")
COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")
MAX_WINDOW_POINTS = 100_000
MAX_WINDOW_SECONDS = 7 * 86_400
# Where a widget sits on the grid.
LAYOUT_FIELDS = ("x", "y", "w", "h")
# What a widget holds besides its dashboard and stream: what a copy takes over,
# an export carries and the page is sent.
WIDGET_FIELDS = ("kind", "title", "config", *LAYOUT_FIELDS)


def widget_values(widget: Widget) -> dict[str, Any]:
    """Return the widget's WIDGET_FIELDS by name."""
    return {name: getattr(widget, name) for name in WIDGET_FIELDS}


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
    if kind not in KINDS:
        return {"kind": f"must be one of {', '.join(KINDS)}"}
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
    if KINDS[kind].market and stream.source_kind not in ("market", "replay"):
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
    _filter_errors(config.get("filter", {}), known, errors)
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


def _filter_errors(found: Any, known: list[str], errors: dict[str, str]) -> None:
    """Check a feed's, table's or trades' filter: {text?, field?, min?, max?, side?}."""
    if not isinstance(found, dict) or set(found) - {"text", "field", "min", "max", "side"}:
        errors["filter"] = "must be an object of text, field, min, max and side"
        return
    if not isinstance(found.get("text", ""), str):
        errors["filter"] = "text must be text"
    elif "field" in found and found["field"] not in known:
        errors["filter"] = f"{found['field']!r} is not a field of this stream"
    elif found.get("side", "buy") not in ("buy", "sell"):
        errors["filter"] = "side must be buy or sell"
    bounds: dict[str, str] = {}
    for key in ("min", "max"):
        _number(found, key, bounds, low=-1e12, high=1e12)
    if bounds:
        errors["filter"] = "; ".join(f"{key} {problem}" for key, problem in bounds.items())


def widget_default_config(kind: str, stream: Stream) -> dict[str, Any]:
    """Return a sensible starting config for a new widget of `kind` on `stream`."""
    spec = KINDS.get(kind)
    if spec is None:
        return {"fields": []}  # widget_config_errors names the unknown kind
    if spec.fixed_fields:
        fields = list(spec.fixed_fields)
    else:
        names = [field["name"] for field in stream.fields]
        fields = (names if spec.new_text_fields else numeric_fields(stream))[: spec.new_fields]
    return {"fields": fields, **spec.config}
