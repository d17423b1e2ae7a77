"""A noisy signal around a base with occasional jumps, flagged when they stray too far."""

from __future__ import annotations

from streams.sources.base import ClockedSource, Number, Reading


class AnomalySource(ClockedSource):
    kind = "anomaly"
    fields = [{"name": "value", "unit": "", "type": "number"}]
    settings_spec = {
        "base": Number(50.0, -1e9, 1e9),
        "noise": Number(5.0, 0.0, 1e9),
        "jump": Number(20.0, 0.0, 1e9),
        "jump_probability": Number(0.1, 0.0, 1.0),
        "threshold": Number(15.0, 0.0, 1e9),
        "interval": Number(1.0, 0.01, 3600.0),
    }

    def read(self, t: int) -> Reading:
        base = self.settings["base"]
        value = base + self.rng.uniform(-self.settings["noise"], self.settings["noise"])
        if self.rng.random() < self.settings["jump_probability"]:
            value += self.rng.choice((-1, 1)) * self.settings["jump"]
        value = round(value, 3)  # the flag is decided on the value people see
        flags = ("anomaly",) if abs(value - base) > self.settings["threshold"] else ()
        return Reading(t, {"value": value}, flags)

    def interval_ms(self) -> float:
        return 1000 * self.settings["interval"]
