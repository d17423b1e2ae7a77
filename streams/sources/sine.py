"""A sine wave sampled at up to 1,000 samples per second."""

from __future__ import annotations

import math

from streams.sources.base import ClockedSource, Number, Reading


class SineSource(ClockedSource):
    kind = "sine"
    fields = [{"name": "value", "unit": "", "type": "number"}]
    settings_spec = {
        "frequency": Number(1.0, 0.001, 500.0),
        "amplitude": Number(1.0, 0.0, 1e9),
        "rate": Number(1000, 1, 1000, integer=True),
    }

    def read(self, t: int) -> Reading:
        phase = 2 * math.pi * self.settings["frequency"] * (t / 1000)
        return Reading(t, {"value": round(self.settings["amplitude"] * math.sin(phase), 6)})

    def interval_ms(self) -> float:
        return 1000 / self.settings["rate"]
