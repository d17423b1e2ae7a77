"""A simulated market for one instrument: ticker, trades and an order book."""

from __future__ import annotations

import math
from typing import Any

from streams.sources.base import ClockedSource, Number, Reading, Text


class MarketSource(ClockedSource):
    kind = "market"
    fields = [
        {"name": "price", "unit": "USD", "type": "number"},
        {"name": "change", "unit": "USD", "type": "number"},
        {"name": "change_pct", "unit": "%", "type": "number"},
        {"name": "volume", "unit": "", "type": "number"},
        {"name": "trade", "unit": "", "type": "trade"},
        {"name": "book", "unit": "", "type": "book"},
    ]
    settings_spec = {
        "symbol": Text("BTC-USD"),
        "start_price": Number(65_000.0, 0.01, 1e9),
        "volatility": Number(0.0004, 0.0, 0.1),
        "levels": Number(10, 10, 50, integer=True),
        "tick_size": Number(0.5, 0.0001, 1e6),
        "rate": Number(10, 0.1, 100),
    }

    def setup(self) -> None:
        self.open_price = float(self.settings["start_price"])
        self.price = self.open_price
        self.volume = 0.0

    def resume(self, values: dict[str, Any]) -> None:
        last = [values.get(name) for name in ("price", "change", "volume")]
        if all(isinstance(v, int | float) and not isinstance(v, bool) for v in last):
            price, change, volume = (float(v) for v in last)  # type: ignore[arg-type]
            self.price, self.volume, self.open_price = price, volume, price - change

    def read(self, t: int) -> Reading:
        self.price *= math.exp(self.rng.gauss(0.0, self.settings["volatility"]))
        size = round(self.rng.expovariate(4.0) + 0.001, 4)
        side = "buy" if self.rng.random() < 0.5 else "sell"
        self.volume += size
        change = self.price - self.open_price
        values = {
            "price": round(self.price, 2),
            "change": round(change, 2),
            "change_pct": round(100 * change / self.open_price, 4),
            "volume": round(self.volume, 4),
            "trade": {"price": round(self.price, 2), "size": size, "side": side},
            "book": self.order_book(),
        }
        return Reading(t, values)

    def order_book(self) -> dict[str, list[list[float]]]:
        """Return `levels` bids below and asks above the price, best first."""
        tick = self.settings["tick_size"]
        digits = max(0, -math.floor(math.log10(tick))) + 2
        mid = max(round(self.price / tick), self.settings["levels"] + 1) * tick
        levels = int(self.settings["levels"])

        def level(offset: int) -> list[float]:
            size = round(self.rng.uniform(0.05, 3.0) * (1 + abs(offset) / 4), 3)
            return [round(mid + tick * offset, digits), size]

        return {
            "bids": [level(-(i + 1)) for i in range(levels)],
            "asks": [level(i + 1) for i in range(levels)],
        }

    def interval_ms(self) -> float:
        return 1000 / self.settings["rate"]
