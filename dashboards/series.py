"""A widget's further series: one field of any stream each, beside the widget's own stream.

Every series' stream goes through the same rule as `Widget.stream`: only a
direct reader puts it on a widget (the editor, imports and copies leave the
rest out and say so), a share or link grants it only while the dashboard's
owner reads it directly (`dashboards/access.py`), and a viewer is sent only the
series they may read (`dashboards/views.py`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError

from dashboards.kinds import KINDS
from dashboards.models import Widget, WidgetSeries
from dashboards.widgets import AXES, COLOR, numeric_fields
from streams.access import stream_readable_directly
from streams.models import Stream

# Further series a widget may have besides its own stream's fields.
MAX_SERIES = 12


@dataclass(frozen=True)
class Series:
    """One further series as the editor, an import or a copy asks for it."""

    stream: Stream
    field: str
    color: str = ""
    axis: str = "left"

    def as_json(self) -> dict[str, Any]:
        """Return it as exports and the page carry it."""
        return {
            "stream": self.stream.slug,
            "field": self.field,
            "color": self.color,
            "axis": self.axis,
        }

    @property
    def label(self) -> str:
        return f"{self.stream.slug} · {self.field}"


def kind_takes_series(kind: str) -> bool:
    """Return whether widgets of `kind` may show series of other streams."""
    spec = KINDS.get(kind)
    return spec is not None and "streams" in spec.parts


def widget_series(widget: Widget) -> list[Series]:
    """Return the widget's further series, in order."""
    rows = widget.series.select_related("stream").order_by("position", "id")
    return [Series(row.stream, row.field, row.color, row.axis) for row in rows]


def series_errors(*, kind: str, series: list[Series], user: Any) -> list[str]:
    """Return what is wrong with `series` for a widget of `kind` saved by `user`."""
    if not series:
        return []
    if not kind_takes_series(kind):
        return [f"A {KINDS[kind].label if kind in KINDS else kind} shows one stream only."]
    if len(series) > MAX_SERIES:
        return [f"At most {MAX_SERIES} further series."]
    errors = []
    for item in series:
        if not stream_readable_directly(item.stream, user):
            errors.append(f"{item.stream.slug} is not yours to show: use your own or a public one.")
        elif item.field not in numeric_fields(item.stream):
            errors.append(f"{item.stream.slug} has no numeric field {item.field!r}.")
        if item.color and not COLOR.match(item.color):
            errors.append(f"{item.label}: colours look like #3fa7ff.")
        if item.axis not in AXES:
            errors.append(f"{item.label}: the axis is left or right.")
    return errors


def series_check(*, kind: str, series: list[Series], user: Any) -> None:
    """Raise ValidationError (on `series`) when the series may not be saved."""
    errors = series_errors(kind=kind, series=series, user=user)
    if errors:
        raise ValidationError({"series": errors})


def series_replace(*, widget: Widget, series: list[Series]) -> None:
    """Make `series` the widget's further series; removed or re-pointed ones tell their watchers."""
    kept = list(widget.series.order_by("position", "id"))
    for position, item in enumerate(series):
        row = kept[position] if position < len(kept) else WidgetSeries(widget=widget)
        row.stream, row.field, row.color, row.axis = item.stream, item.field, item.color, item.axis
        row.position = position
        row.save()
    for row in kept[len(series) :]:
        row.delete()


def series_readable(
    series: Iterable[Series], user: Any, *, keep: Any = stream_readable_directly
) -> tuple[list[Series], list[Series]]:
    """Split `series` into those `keep(stream, user)` allows and those left out."""
    kept: list[Series] = []
    left_out: list[Series] = []
    for item in series:
        (kept if keep(item.stream, user) else left_out).append(item)
    return kept, left_out


def series_from_json(items: Any, *, where: str) -> list[Series]:
    """Return the series of an export's widget; raise ValidationError saying what is malformed."""
    if items is None:
        return []
    if not isinstance(items, list) or len(items) > MAX_SERIES:
        raise ValidationError(f"{where}.series must be a list of at most {MAX_SERIES} objects.")
    found = []
    for index, item in enumerate(items):
        if not isinstance(item, dict) or not isinstance(item.get("field"), str):
            raise ValidationError(f"{where}.series[{index}] must be an object with a field.")
        stream = Stream.objects.filter(slug=str(item.get("stream"))).first()
        if stream is None:
            raise ValidationError(f"{where}.series[{index}]: no stream {item.get('stream')!r}.")
        color, axis = item.get("color") or "", item.get("axis") or "left"
        found.append(Series(stream, item["field"], str(color), str(axis)))
    return found
