"""What each widget kind is: one row per kind, read by the server and, as JSON, by the page.

The model's choices, the editor's inputs, the services' defaults and validation,
and the page's backfill plans all read `KINDS`; docs/widgets.md tells how to add
a row. This module imports nothing of the project, so the model can read it too.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from types import MappingProxyType
from typing import Any


@dataclass(frozen=True)
class Backfill:
    """How many stored samples a widget asks for when it starts (static/js/data/plans.js)."""

    # Asked for when the config sets no `window_points` (or the kind has no such window).
    points: int = 0
    # The config's `window_points` replaces `points`.
    window_points: bool = False
    # The config's `window_seconds` spans the window; what the backfill does not
    # cover comes from the history API.
    window_seconds: bool = False
    # Without `window_seconds` in the config, the window spans this many candles
    # of `candle_seconds`.
    candles: int = 0


@dataclass(frozen=True)
class KindSpec:
    """One widget kind: its name and label, its editor, its defaults and its backfill."""

    kind: str
    label: str
    # The editor inputs it uses (templates/dashboards/_editor.html shows only those).
    parts: frozenset[str]
    # (w, h) of a new widget on the 12-column grid.
    size: tuple[int, int] = (3, 3)
    # The config of a new widget, besides its fields.
    config: Mapping[str, Any] = field(default_factory=dict)
    # How many of the stream's fields a new widget starts with.
    new_fields: int = 1
    # A new widget may start with fields that are not numbers.
    new_text_fields: bool = False
    # It shows fields of any type, and every field of the stream when none is chosen.
    any_field: bool = False
    # It always reads these structured fields of a market stream.
    fixed_fields: tuple[str, ...] = ()
    backfill: Backfill = Backfill()
    # A line the editor shows under a kind that has nothing to set.
    hint: str = ""

    @property
    def market(self) -> bool:
        """Return whether it reads the market's structured values rather than numeric fields."""
        return bool(self.fixed_fields)

    def page_json(self) -> dict[str, Any]:
        """Return the row as the page gets it."""
        row = {item.name: getattr(self, item.name) for item in fields(self)}
        return row | {
            "parts": sorted(self.parts),
            "config": dict(self.config),
            "backfill": asdict(self.backfill),
            "market": self.market,
        }


def _spec(kind: str, label: str, parts: set[str], **facts: Any) -> KindSpec:
    facts["config"] = MappingProxyType(facts.get("config", {}))
    return KindSpec(kind, label, frozenset(parts), **facts)


# In the order the editor offers them (and the model's choices list them).
KINDS: Mapping[str, KindSpec] = MappingProxyType(
    {
        spec.kind: spec
        for spec in (
            _spec(
                "timeseries",
                "Time series",
                {"fields", "window", "style", "series", "streams", "thresholds", "range"},
                size=(6, 4),
                config={"style": "line", "window_seconds": 120},
                new_fields=3,
                backfill=Backfill(points=600, window_points=True, window_seconds=True),
            ),
            _spec(
                "gauge",
                "Gauge",
                {"field", "thresholds", "range"},
                config={"min": 0, "max": 100},
                backfill=Backfill(points=1),
            ),
            _spec(
                "stat",
                "Stat card",
                {"field", "stat", "window", "thresholds"},
                config={"stat": "latest"},
                backfill=Backfill(points=600, window_points=True, window_seconds=True),
            ),
            _spec(
                "counter",
                "Counter",
                set(),
                hint="Counts every sample of the stream that reaches this page.",
            ),
            _spec(
                "feed",
                "Live feed",
                {"fields", "rows", "filter"},
                config={"window_points": 50},
                new_fields=4,
                new_text_fields=True,
                any_field=True,
                backfill=Backfill(points=50, window_points=True),
            ),
            _spec(
                "viewers",
                "Viewer count",
                set(),
                hint="Shows how many pages and signed-in users watch the stream right now.",
            ),
            _spec(
                "table",
                "Table",
                {"fields", "rows", "filter"},
                any_field=True,
                backfill=Backfill(points=20, window_points=True),
            ),
            _spec(
                "candlestick",
                "Candlestick",
                {"candles"},
                size=(6, 4),
                config={"candle_seconds": 5},
                fixed_fields=("price",),
                backfill=Backfill(window_seconds=True, candles=60),
            ),
            _spec(
                "orderbook",
                "Order book",
                {"depth"},
                config={"depth": 10},
                fixed_fields=("book",),
                backfill=Backfill(points=1),
            ),
            _spec(
                "ticker",
                "Ticker",
                set(),
                size=(3, 2),
                fixed_fields=("price", "change", "change_pct", "volume"),
                backfill=Backfill(points=2),
                hint="Last price, change and change % since the open, and volume, as they move.",
            ),
            _spec(
                "trades",
                "Trades",
                {"rows", "filter"},
                config={"window_points": 30},
                fixed_fields=("trade",),
                backfill=Backfill(points=30, window_points=True),
            ),
        )
    }
)


def kind_choices() -> list[tuple[str, str]]:
    """Return (kind, label) of every row, in the table's order, for forms and the admin."""
    return [(kind, spec.label) for kind, spec in KINDS.items()]


def kinds_page_json() -> dict[str, dict[str, Any]]:
    """Return the table as the dashboard page gets it: kind → row."""
    return {kind: spec.page_json() for kind, spec in KINDS.items()}


if __name__ == "__main__":
    # `python -m dashboards.kinds` prints the table as the page gets it (the JS tests read it).
    import json
    import sys

    json.dump(kinds_page_json(), sys.stdout)
