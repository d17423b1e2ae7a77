"""What every source has in common: settings, a clock, and readings."""

from __future__ import annotations

import random
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

HistoryPageReader = Callable[..., list[tuple[int, int, dict[str, Any], list[str]]]]


@dataclass(frozen=True, slots=True)
class Reading:
    """One sample as a source makes it, before the producer gives it a seq."""

    t: int
    values: dict[str, Any]
    flags: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Number:
    """A numeric setting with a default and an allowed range."""

    default: float
    low: float
    high: float
    integer: bool = False

    def error(self, name: str, value: Any) -> str | None:
        if isinstance(value, bool) or not isinstance(value, int | float):
            return f"{name} must be a number"
        if self.integer and isinstance(value, float) and not value.is_integer():
            return f"{name} must be a whole number"
        if not self.low <= value <= self.high:
            return f"{name} must be between {self.low:g} and {self.high:g}"
        return None


@dataclass(frozen=True, slots=True)
class Text:
    """A text setting with a default and a maximum length."""

    default: str
    max_length: int = 40
    choices: tuple[str, ...] = field(default=())

    def error(self, name: str, value: Any) -> str | None:
        if not isinstance(value, str) or not value or len(value) > self.max_length:
            return f"{name} must be text of 1–{self.max_length} characters"
        if self.choices and value not in self.choices:
            return f"{name} must be one of {', '.join(self.choices)}"
        return None


class Source(ABC):
    """A generator of readings.

    The producer calls `poll(now_ms)` every tick and gets every reading that fell
    due since the last call. A source that reads storage says so with
    `needs_load`; the producer then calls `load()` in its database thread first.
    """

    kind: ClassVar[str]
    fields: ClassVar[list[dict[str, str]]]
    settings_spec: ClassVar[dict[str, Number | Text]] = {}
    # The settings that name another stream this kind reads (its history, its
    # samples): a kind with any is *derived*, and obeys the read rule for as long
    # as it runs — its owner must read every such stream directly.
    stream_settings: ClassVar[tuple[str, ...]] = ()
    finished: bool = False

    def __init__(
        self, settings: Mapping[str, Any] | None = None, *, rng: random.Random | None = None
    ):
        errors = self.settings_errors(settings or {})
        if errors:
            raise ValueError("; ".join(errors))
        self.settings: dict[str, Any] = {
            name: (settings or {}).get(name, spec.default)
            for name, spec in self.settings_spec.items()
        }
        self.rng = rng or random.Random()
        self.setup()

    @classmethod
    def settings_errors(cls, settings: Mapping[str, Any]) -> list[str]:
        """Return what is wrong with `settings` for this kind (empty when all is well)."""
        if not isinstance(settings, Mapping):
            return ["settings must be an object"]
        errors = [f"unknown setting {name!r}" for name in settings if name not in cls.settings_spec]
        for name, spec in cls.settings_spec.items():
            if name in settings:
                problem = spec.error(name, settings[name])
                if problem:
                    errors.append(problem)
        return errors

    @classmethod
    def streams_read(cls, settings: Any) -> tuple[str, ...]:
        """Return the slugs of the streams a source of this kind with `settings` reads."""
        if not isinstance(settings, Mapping):
            return ()
        named = (settings.get(name) for name in cls.stream_settings)
        return tuple(dict.fromkeys(slug for slug in named if isinstance(slug, str) and slug))

    def setup(self) -> None:
        """Prepare state that depends on the settings."""

    def resume(self, values: dict[str, Any]) -> None:
        """Carry on from the last stored values (after a restart or a takeover)."""

    @property
    def needs_load(self) -> bool:
        return False

    def load(self, read_page: HistoryPageReader) -> None:
        """Fetch from storage what the next polls need (runs in a worker thread).

        Sources do not reach into storage themselves: the producer hands them
        `read_page(slug, start=, end=, after_seq=, limit=)`, which returns stored
        (seq, t, values, flags) rows of a stream in time range [start, end) — of a
        stream named by `stream_settings` that the owner reads at that moment,
        and nothing otherwise.
        """

    @abstractmethod
    def poll(self, now_ms: int) -> list[Reading]:
        """Return the readings due at or before `now_ms`, oldest first."""


class ClockedSource(Source):
    """A source that makes one reading at a time on its own schedule.

    Each reading is stamped with the time it was due, so a 1 kHz source yields
    about fifty readings per 50 ms tick.
    """

    # After a stall (a paused laptop, a long GC) skip ahead rather than flood.
    max_catch_up_ms: ClassVar[int] = 5_000
    next_t: float | None = None

    def poll(self, now_ms: int) -> list[Reading]:
        if self.next_t is None:
            self.next_t = float(now_ms)
        if now_ms - self.next_t > self.max_catch_up_ms:
            self.next_t = float(now_ms)
        readings = []
        while self.next_t <= now_ms:
            readings.append(self.read(int(self.next_t)))
            self.next_t += self.interval_ms()
        return readings

    @abstractmethod
    def read(self, t: int) -> Reading:
        """Return the reading for time `t` (ms) and advance the source's state."""

    @abstractmethod
    def interval_ms(self) -> float:
        """Return how long until the next reading is due."""


def bounded_walk(rng: random.Random, value: float, step: float, low: float, high: float) -> float:
    """Return `value` moved by up to ±`step`, reflected back inside [low, high]."""
    value += rng.uniform(-step, step)
    if value < low:
        value = low + (low - value)
    if value > high:
        value = high - (value - high)
    return min(max(value, low), high)
