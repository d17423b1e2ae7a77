"""The editor's further series and filters: what the inputs show and what they send.

Each further series is one row of inputs named `series-<n>-source` ("<stream
slug>|<field>"; empty to drop the row), `series-<n>-color` with its
`series-<n>-custom` box, and `series-<n>-axis`. The editor always shows one
empty row more, so choosing a source there adds a series. Filters are
`filter_text`, `filter_field`, `filter_min`, `filter_max` and `filter_side`.
"""

from __future__ import annotations

import math
from typing import Any

from dashboards.series import MAX_SERIES, Series
from dashboards.widgets import numeric_fields
from streams.models import Stream

# The dark theme's series colours, in order: a further series is shown the one it gets
# after the widget's own fields.
SWATCHES = ["#73bf69", "#f2cc0c", "#8ab8ff", "#ff9830", "#b877d9", "#5ac8d8"]
SIDES = ("buy", "sell")


def series_from_post(data: Any, streams: dict[str, Stream]) -> tuple[list[Series], list[str]]:
    """Return the series the editor sent, and what it could not read."""
    found: list[Series] = []
    problems: list[str] = []
    for index in range(MAX_SERIES + 1):
        source = data.get(f"series-{index}-source", "")
        if not source:
            continue
        slug, _, field = source.partition("|")
        stream = streams.get(slug)
        if stream is None or not field:
            problems.append(f"{source} is not a stream and field you may show.")
            continue
        custom = f"series-{index}-custom" in data
        color = data.get(f"series-{index}-color", "") if custom else ""
        found.append(Series(stream, field, color, data.get(f"series-{index}-axis", "left")))
    return found, problems


def series_choices(streams: dict[str, Stream]) -> list[dict[str, Any]]:
    """Return the streams and their numeric fields, as the source menus group them."""
    return [
        {
            "title": f"{stream.title} ({slug})",
            "options": [
                {"value": f"{slug}|{name}", "label": f"{slug} · {name}"}
                for name in numeric_fields(stream)
            ],
        }
        for slug, stream in streams.items()
        if numeric_fields(stream)
    ]


def series_rows(series: list[Series], offset: int = 0) -> list[dict[str, Any]]:
    """Return one row of inputs per series, and an empty one to add another.

    `offset`: how many of the widget's own fields come before them in the chart.
    """
    rows = [
        {
            "index": index,
            "value": f"{item.stream.slug}|{item.field}",
            "label": item.label,
            "custom_color": bool(item.color),
            "color": item.color or SWATCHES[(offset + index) % len(SWATCHES)],
            "axis": item.axis,
        }
        for index, item in enumerate(series)
    ]
    if len(rows) < MAX_SERIES:
        index = len(rows)
        rows.append(
            {
                "index": index,
                "value": "",
                "label": "",
                "custom_color": False,
                "color": SWATCHES[(offset + index) % len(SWATCHES)],
                "axis": "left",
            }
        )
    return rows


def filter_from_post(data: Any) -> tuple[dict[str, Any], dict[str, str]]:
    """Return the filter the editor sent (only what is set), and problems by input."""
    found: dict[str, Any] = {}
    problems: dict[str, str] = {}
    text = data.get("filter_text", "").strip()
    if text:
        found["text"] = text[:80]
    field = data.get("filter_field", "").strip()
    for key in ("min", "max"):
        raw = data.get(f"filter_{key}", "").strip()
        if not raw:
            continue
        try:
            number = float(raw)
        except ValueError:
            number = math.nan
        if not math.isfinite(number):
            problems["filter"] = f"{key} must be a number"
        else:
            found[key] = number
    if ("min" in found or "max" in found) and not field:
        problems["filter"] = "Name the field whose range to keep."
    if field:
        found["field"] = field[:80]
    side = data.get("filter_side", "")
    if side in SIDES:
        found["side"] = side
    return found, problems


def filter_inputs(data: Any, saved: dict[str, Any] | None) -> dict[str, Any]:
    """Return what the filter inputs show: the posted text, else the saved filter."""
    names = ("text", "field", "min", "max", "side")
    if data is not None:
        return {name: data.get(f"filter_{name}", "") for name in names}
    saved = saved or {}
    return {
        name: f"{saved[name]:g}" if isinstance(saved.get(name), float) else saved.get(name, "")
        for name in names
    }


def editor_context(form: Any) -> dict[str, Any]:
    """Return what the editor's further series and filter inputs show."""
    if form.is_bound:
        series = series_from_post(form.data, form.streams)[0]
        inputs = filter_inputs(form.data, None)
    else:
        series = form.initial.get("series", [])
        inputs = filter_inputs(None, form.initial.get("filter"))
    return {
        "more_series": series_rows(series, len(form.selected_fields())),
        "series_choices": series_choices(form.streams),
        "filter_inputs": inputs,
    }
