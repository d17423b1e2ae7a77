"""Forms of the user plane: the widget editor, sharing and import (alerting: alerts/forms.py).

The forms only turn text into typed values; what a widget config may hold is
decided by the services, whose errors the views show next to the same inputs.
"""

from __future__ import annotations

import json
import math
from typing import Any

from django import forms

from dashboards import forms_series
from dashboards.kinds import KINDS, KindSpec, kind_choices
from dashboards.series import Series, widget_series
from dashboards.widgets import STATS, STYLES, numeric_fields, widget_default_config
from streams.models import Stream

WINDOW_MODES = [("points", "points"), ("seconds", "seconds")]
AXIS_CHOICES = ("left", "right")

# Where each error of the form or of widget_config_errors is shown.
ERROR_PLACES = {
    "window_points": "window",
    "window_seconds": "window",
    "window_value": "window",
    "window_mode": "window",
    "min": "range",
    "max": "range",
    "minimum": "range",
    "maximum": "range",
    "warning": "thresholds",
    "critical": "thresholds",
    "colors": "series",
    "axes": "series",
    "series": "more_series",
    "config": "general",
    "__all__": "general",
}


def error_place(key: str) -> str:
    return ERROR_PLACES.get(key, key)


class WidgetForm(forms.Form):
    """The widget editor: a kind, a stream and the config its kind uses."""

    kind = forms.ChoiceField(choices=kind_choices)
    stream = forms.ChoiceField()
    title = forms.CharField(required=False, max_length=120)
    window_mode = forms.ChoiceField(choices=WINDOW_MODES, required=False)
    window_value = forms.IntegerField(required=False)
    style = forms.ChoiceField(choices=[(s, s) for s in STYLES], required=False)
    stat = forms.ChoiceField(choices=[(s, s) for s in STATS], required=False)
    warning = forms.FloatField(required=False)
    critical = forms.FloatField(required=False)
    minimum = forms.FloatField(required=False)
    maximum = forms.FloatField(required=False)
    candle_seconds = forms.IntegerField(required=False)
    depth = forms.IntegerField(required=False)

    def __init__(self, *args: Any, streams: list[Stream], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.streams = {stream.slug: stream for stream in streams}
        self.fields["stream"].choices = [(s.slug, f"{s.title} ({s.slug})") for s in streams]
        self.config: dict[str, Any] = {}
        self.series: list[Series] = []

    @classmethod
    def for_widget(cls, widget: Any, *, streams: list[Stream]) -> WidgetForm:
        """Return an unbound form showing `widget` as it is."""
        config = widget.config or {}
        thresholds = config.get("thresholds") or {}
        initial = {
            "kind": widget.kind,
            "stream": widget.stream.slug,
            "title": widget.title,
            "window_mode": "seconds" if "window_seconds" in config else "points",
            "window_value": config.get("window_seconds", config.get("window_points")),
            "style": config.get("style", "line"),
            "stat": config.get("stat", "latest"),
            "warning": thresholds.get("warning"),
            "critical": thresholds.get("critical"),
            "minimum": config.get("min"),
            "maximum": config.get("max"),
            "candle_seconds": config.get("candle_seconds"),
            "depth": config.get("depth"),
            "fields": config.get("fields", []),
            "colors": config.get("colors", {}),
            "axes": config.get("axes", {}),
            "series": widget_series(widget),
            "filter": config.get("filter", {}),
        }
        return cls(initial=initial, streams=streams)

    @classmethod
    def for_new(
        cls, *, stream: Stream, streams: list[Stream], kind: str = "timeseries"
    ) -> WidgetForm:
        config = widget_default_config(kind, stream)
        initial = {
            "kind": kind,
            "stream": stream.slug,
            "window_mode": "seconds" if "window_seconds" in config else "points",
            "window_value": config.get("window_seconds", config.get("window_points")),
            "style": "line",
            "stat": "latest",
            "fields": config.get("fields", []),
        }
        return cls(initial=initial, streams=streams)

    # -- what the template shows ------------------------------------------------

    def value(self, name: str) -> Any:
        """Return what the input `name` shows: the submitted text, else the initial value."""
        return self[name].value()

    @property
    def chosen_kind(self) -> str:
        kind = self.value("kind")
        return str(kind) if kind in KINDS else "timeseries"

    @property
    def chosen_stream(self) -> Stream | None:
        return self.streams.get(self.value("stream") or "") or next(
            iter(self.streams.values()), None
        )

    @property
    def spec(self) -> KindSpec:
        """Return the table row of the chosen kind: the inputs it uses, its defaults."""
        return KINDS[self.chosen_kind]

    def selected_fields(self) -> list[str]:
        stream = self.chosen_stream
        if stream is None:
            return []
        names = [field["name"] for field in stream.fields]
        chosen = self.data.getlist("fields") if self.is_bound else self.initial.get("fields", [])
        kept = [name for name in chosen if name in names]
        if self.is_bound and "_refresh" in self.data:
            defaults = widget_default_config(self.chosen_kind, stream).get("fields", [])
            # After a change of stream nothing chosen may exist there: start from its defaults.
            if not kept:
                return defaults
            # After a change of kind, fields left as the kind before chose them take the new
            # kind's defaults (a feed shows its labels beside the numbers a chart drew).
            before = str(self.data.get("shown_kind", ""))
            changed = before in KINDS and before != self.chosen_kind
            if changed and kept == widget_default_config(before, stream).get("fields", []):
                return defaults
        return kept

    def series_rows(self) -> list[dict[str, Any]]:
        """Return one row per field of the chosen stream: chosen?, colour, axis."""
        stream = self.chosen_stream
        if stream is None:
            return []
        selected = set(self.selected_fields())
        numeric = set(numeric_fields(stream))
        colors = self.initial.get("colors", {})
        axes = self.initial.get("axes", {})
        rows = []
        for position, field in enumerate(stream.fields):
            name = field["name"]
            if self.is_bound:
                custom = f"custom_color_{name}" in self.data
                color = self.data.get(f"color_{name}", "")
                axis = self.data.get(f"axis_{name}", "left")
            else:
                custom = name in colors
                color = colors.get(name, "")
                axis = axes.get(name, "left")
            rows.append(
                {
                    "name": name,
                    "unit": field.get("unit", ""),
                    "numeric": name in numeric,
                    "selected": name in selected,
                    "custom_color": custom,
                    "color": color or DEFAULT_SWATCHES[position % len(DEFAULT_SWATCHES)],
                    "axis": axis if axis in AXIS_CHOICES else "left",
                }
            )
        return rows

    # -- what the service gets ----------------------------------------------------

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        kind = data.get("kind")
        stream = self.streams.get(data.get("stream") or "")
        if kind is None or stream is None:
            return data
        spec = KINDS[kind]
        parts = spec.parts
        config: dict[str, Any] = {}
        if spec.fixed_fields:
            config["fields"] = list(spec.fixed_fields)
        elif parts & {"fields", "field"}:
            config["fields"] = self.data.getlist("fields")
        else:
            config["fields"] = []
        value = data.get("window_value")
        if value is not None:
            if "window" in parts:
                mode = data.get("window_mode") or "points"
                config["window_seconds" if mode == "seconds" else "window_points"] = value
            elif "rows" in parts:
                config["window_points"] = value
            elif "candles" in parts:
                config["window_seconds"] = value
        if "style" in parts:
            config["style"] = data.get("style") or "line"
        if "stat" in parts:
            config["stat"] = data.get("stat") or "latest"
        if "thresholds" in parts:
            thresholds = {
                name: data[name] for name in ("warning", "critical") if data.get(name) is not None
            }
            if thresholds:
                config["thresholds"] = thresholds
        if "range" in parts:
            for key, name in (("min", "minimum"), ("max", "maximum")):
                if data.get(name) is not None:
                    config[key] = data[name]
        if "candles" in parts and data.get("candle_seconds") is not None:
            config["candle_seconds"] = data["candle_seconds"]
        if "depth" in parts and data.get("depth") is not None:
            config["depth"] = data["depth"]
        if "series" in parts:
            chosen = config["fields"]
            colors = {
                name: self.data.get(f"color_{name}", "")
                for name in chosen
                if f"custom_color_{name}" in self.data
            }
            axes = {name: self.data.get(f"axis_{name}", "left") for name in chosen}
            if colors:
                config["colors"] = colors
            if any(axis != "left" for axis in axes.values()):
                config["axes"] = axes
        self.config = config | self.clean_series_and_filter(parts)
        return data

    def clean_series_and_filter(self, parts: frozenset[str]) -> dict[str, Any]:
        """Read the further series into `self.series`; return the filter as config."""
        problems: list[str] = []
        if "streams" in parts:
            self.series, problems = forms_series.series_from_post(self.data, self.streams)
        found: dict[str, Any] = {}
        if "filter" in parts:
            found, by_input = forms_series.filter_from_post(self.data)
            problems += by_input.values()
        for problem in problems:
            self.add_error(None, problem)
        return {"filter": found} if found else {}


# Suggested colours for a field's custom colour, in the order of the dark theme's series.
DEFAULT_SWATCHES = forms_series.SWATCHES


class ShareForm(forms.Form):
    username = forms.CharField(max_length=150)


class TitleForm(forms.Form):
    title = forms.CharField(max_length=120)


IMPORT_MAX_BYTES = 1_000_000
# An export nests five levels deep (file, widgets, widget, config, thresholds).
IMPORT_MAX_DEPTH = 20
IMPORT_MAX_WIDGETS = 200
# Grid positions and sizes, as the layout keeps them.
LAYOUT_KEYS = ("x", "y", "w", "h")
LAYOUT_MAX = 1000


def json_finite_number(text: str) -> float:
    """Return the JSON number `text`, refusing what overflows to infinity (1e999)."""
    number = float(text)
    if not math.isfinite(number):
        raise ValueError(f"{text} is too large a number")
    return number


def json_refused_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


def import_nesting_problem(document: Any) -> str | None:
    """Return what is wrong with the parsed file's nesting or text, or None."""
    pending = [(document, 1)]
    while pending:
        value, depth = pending.pop()
        if depth > IMPORT_MAX_DEPTH:
            return f"The file nests more than {IMPORT_MAX_DEPTH} levels deep; an export does not."
        if isinstance(value, dict):
            texts = list(value)
            pending += [(item, depth + 1) for item in value.values()]
        elif isinstance(value, list):
            texts = []
            pending += [(item, depth + 1) for item in value]
        else:
            texts = [value] if isinstance(value, str) else []
        if any("\x00" in text for text in texts):
            return "The file has a text with a NUL character (\\u0000), which cannot be stored."
    return None


def import_widget_problem(index: int, widget: Any) -> str | None:
    """Return what is wrong with the types of widgets[index]'s known keys, or None."""
    if not isinstance(widget, dict):
        return f"widgets[{index}] must be an object."
    for key in ("kind", "stream", "title"):
        if key in widget and not isinstance(widget[key], str):
            return f"widgets[{index}].{key} must be text, not {json_type(widget[key])}."
    if "config" in widget and not isinstance(widget["config"], dict):
        return f"widgets[{index}].config must be an object, not {json_type(widget['config'])}."
    for key in LAYOUT_KEYS:
        value = widget.get(key, 0)
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= LAYOUT_MAX:
            return (
                f"widgets[{index}].{key} must be a whole number from 0 to {LAYOUT_MAX}, "
                f"not {json.dumps(value)[:40]}."
            )
    return None


def json_type(value: Any) -> str:
    """Return the JSON name of `value`'s type, for messages."""
    names = {dict: "an object", list: "a list", str: "text", bool: "true/false"}
    if value is None:
        return "null"
    return names.get(type(value), "a number")


class ImportForm(forms.Form):
    """A dashboard export to import: parsed here, its checks against streams in the service."""

    file = forms.FileField(label="Dashboard file (.json)")
    document: dict[str, Any]

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if upload.size > IMPORT_MAX_BYTES:
            raise forms.ValidationError(
                f"The file is {upload.size:,} bytes; an export is at most {IMPORT_MAX_BYTES:,}."
            )
        self.document = self.parse(upload.read())
        return upload

    @staticmethod
    def parse(raw: bytes) -> dict[str, Any]:
        """Return the export in `raw`, or raise ValidationError saying what is wrong with it."""
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise forms.ValidationError(
                "The file is not JSON. It is not UTF-8 text; choose a file exported from a "
                "Pulseboard dashboard."
            ) from None
        try:
            document = json.loads(
                text, parse_constant=json_refused_constant, parse_float=json_finite_number
            )
        except json.JSONDecodeError as error:
            raise forms.ValidationError(
                f"The file is not JSON. {error.msg} at line {error.lineno}, column "
                f"{error.colno}; choose a file exported from a Pulseboard dashboard."
            ) from None
        except RecursionError:
            raise forms.ValidationError(
                f"The file nests more than {IMPORT_MAX_DEPTH} levels deep; an export does not."
            ) from None
        except ValueError as error:
            raise forms.ValidationError(f"The file has a bad number: {error}.") from None
        problem = import_nesting_problem(document)
        if problem is None and not isinstance(document, dict):
            problem = f"The file holds {json_type(document)}; an export is one JSON object."
        if problem is None and "title" in document and not isinstance(document["title"], str):
            problem = f"`title` must be text, not {json_type(document['title'])}."
        widgets = document.get("widgets") if isinstance(document, dict) else None
        if problem is None and isinstance(widgets, list):
            if len(widgets) > IMPORT_MAX_WIDGETS:
                problem = (
                    f"The file has {len(widgets):,} widgets; a dashboard holds at most "
                    f"{IMPORT_MAX_WIDGETS}."
                )
            for index, widget in enumerate(widgets):
                problem = problem or import_widget_problem(index, widget)
        if problem is not None:
            raise forms.ValidationError(problem)
        return document
