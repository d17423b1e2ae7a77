"""The stored history of another stream, published again at a speed factor."""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from typing import Any, ClassVar

from streams.sources.base import HistoryPageReader, Number, Reading, Source, Text

PAGE = 5_000
LOW_WATER = 2_000
MAX_TIME = 2**53


class ReplaySource(Source):
    kind = "replay"
    # A replay stream takes the fields of the stream it replays.
    fields: ClassVar[list[dict[str, str]]] = []
    stream_settings = ("source",)
    settings_spec = {
        "source": Text("", max_length=80),
        "from": Number(0, 0, MAX_TIME, integer=True),
        "to": Number(0, 0, MAX_TIME, integer=True),
        "speed": Number(1.0, 0.01, 1000.0),
        "loop": Number(0, 0, 1, integer=True),
    }

    @classmethod
    def settings_errors(cls, settings: Mapping[str, Any]) -> list[str]:
        errors = super().settings_errors(settings)
        if errors:
            return errors
        if not settings.get("source"):
            errors.append("source must name the stream to replay")
        if settings.get("from", 0) >= settings.get("to", 0):
            errors.append("from must be earlier than to")
        return errors

    def setup(self) -> None:
        self.buffer: deque[tuple[int, int, dict[str, Any], list[str]]] = deque()
        self.cursor = 0
        self.exhausted = False
        self.play_start: int | None = None

    @property
    def needs_load(self) -> bool:
        return not self.exhausted and len(self.buffer) < LOW_WATER

    def load(self, read_page: HistoryPageReader) -> None:
        rows = read_page(
            self.settings["source"],
            start=self.settings["from"],
            end=self.settings["to"],
            after_seq=self.cursor,
            limit=PAGE,
        )
        self.buffer.extend(rows)
        if rows:
            self.cursor = rows[-1][0]
        self.exhausted = len(rows) < PAGE

    def poll(self, now_ms: int) -> list[Reading]:
        if self.play_start is None:
            if not self.buffer and not self.exhausted:
                return []  # the first page is not loaded yet
            self.play_start = now_ms
        begin, speed = self.settings["from"], self.settings["speed"]
        readings = []
        while self.buffer:
            _, t, values, flags = self.buffer[0]
            due = self.play_start + int((t - begin) / speed)
            if due > now_ms:
                break
            self.buffer.popleft()
            readings.append(Reading(due, values, tuple(flags)))
        if not self.buffer and self.exhausted:
            if self.settings["loop"]:
                self.cursor, self.exhausted, self.play_start = 0, False, None
            else:
                self.finished = True
        return readings
