"""Business counters: a value from 1 to 100 under one of a few labels."""

from __future__ import annotations

from streams.sources.base import ClockedSource, Number, Reading

LABELS = ("Sales", "Users", "Requests", "Views")


class BusinessSource(ClockedSource):
    kind = "business"
    fields = [
        {"name": "value", "unit": "", "type": "number"},
        {"name": "label", "unit": "", "type": "text"},
    ]
    settings_spec = {"interval": Number(2.0, 0.01, 3600.0)}

    def read(self, t: int) -> Reading:
        return Reading(t, {"value": self.rng.randint(1, 100), "label": self.rng.choice(LABELS)})

    def interval_ms(self) -> float:
        return 1000 * self.settings["interval"]
