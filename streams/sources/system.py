"""This host's CPU, memory, disk and network, read with psutil."""

from __future__ import annotations

import psutil

from streams.sources.base import ClockedSource, Number, Reading, Text


class SystemSource(ClockedSource):
    kind = "system"
    fields = [
        {"name": "cpu", "unit": "%", "type": "number"},
        {"name": "memory", "unit": "%", "type": "number"},
        {"name": "disk", "unit": "%", "type": "number"},
        {"name": "net_sent", "unit": "B/s", "type": "number"},
        {"name": "net_recv", "unit": "B/s", "type": "number"},
    ]
    settings_spec = {"interval": Number(1.0, 0.1, 3600.0), "disk_path": Text("/", max_length=200)}

    def setup(self) -> None:
        # The first cpu_percent() call only starts the measurement.
        psutil.cpu_percent(interval=None)
        self.last_net = psutil.net_io_counters()
        self.last_t: int | None = None

    def read(self, t: int) -> Reading:
        net = psutil.net_io_counters()
        seconds = (t - self.last_t) / 1000 if self.last_t is not None else self.settings["interval"]
        seconds = max(seconds, 0.001)
        values = {
            "cpu": psutil.cpu_percent(interval=None),
            "memory": psutil.virtual_memory().percent,
            "disk": psutil.disk_usage(self.settings["disk_path"]).percent,
            "net_sent": round(max(net.bytes_sent - self.last_net.bytes_sent, 0) / seconds, 1),
            "net_recv": round(max(net.bytes_recv - self.last_net.bytes_recv, 0) / seconds, 1),
        }
        self.last_net, self.last_t = net, t
        return Reading(t, values)

    def interval_ms(self) -> float:
        return 1000 * self.settings["interval"]
