"""An environmental sensor: temperature, humidity and pressure as bounded random walks."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from streams.sources.base import ClockedSource, Number, Reading, bounded_walk

RANGES = {
    "temperature": (18.0, 28.0, 0.3),
    "humidity": (30.0, 80.0, 1.0),
    "pressure": (1000.0, 1020.0, 0.5),
}


class SensorSource(ClockedSource):
    kind = "sensor"
    fields = [
        {"name": "temperature", "unit": "°C", "type": "number"},
        {"name": "humidity", "unit": "%", "type": "number"},
        {"name": "pressure", "unit": "hPa", "type": "number"},
    ]
    settings_spec = {
        "min_interval": Number(0.5, 0.05, 60.0),
        "max_interval": Number(2.0, 0.05, 60.0),
    }

    @classmethod
    def settings_errors(cls, settings: Mapping[str, Any]) -> list[str]:
        errors = super().settings_errors(settings)
        if not errors:
            low = settings.get("min_interval", cls.settings_spec["min_interval"].default)
            high = settings.get("max_interval", cls.settings_spec["max_interval"].default)
            if low > high:
                errors.append("min_interval must not exceed max_interval")
        return errors

    def setup(self) -> None:
        self.state = {name: self.rng.uniform(low, high) for name, (low, high, _) in RANGES.items()}

    def resume(self, values: dict[str, Any]) -> None:
        for name, (low, high, _) in RANGES.items():
            value = values.get(name)
            if isinstance(value, int | float) and low <= value <= high:
                self.state[name] = float(value)

    def read(self, t: int) -> Reading:
        for name, (low, high, step) in RANGES.items():
            self.state[name] = bounded_walk(self.rng, self.state[name], step, low, high)
        return Reading(t, {name: round(value, 2) for name, value in self.state.items()})

    def interval_ms(self) -> float:
        return 1000 * self.rng.uniform(self.settings["min_interval"], self.settings["max_interval"])
