"""The built-in source kinds, looked up by the stream's `source_kind`."""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any

from streams.sources.anomaly import AnomalySource
from streams.sources.base import Reading, Source
from streams.sources.business import BusinessSource
from streams.sources.market import MarketSource
from streams.sources.replay import ReplaySource
from streams.sources.sensor import SensorSource
from streams.sources.sine import SineSource
from streams.sources.system import SystemSource

SOURCES: dict[str, type[Source]] = {
    cls.kind: cls
    for cls in (
        SensorSource,
        SystemSource,
        SineSource,
        AnomalySource,
        BusinessSource,
        MarketSource,
        ReplaySource,
    )
}

__all__ = ["SOURCES", "Reading", "Source", "source_create", "source_settings_errors"]


def source_create(
    kind: str, settings: Mapping[str, Any], *, rng: random.Random | None = None
) -> Source:
    """Return a running source of `kind`; raise KeyError for kinds the producer does not run."""
    return SOURCES[kind](settings, rng=rng)


def source_settings_errors(kind: str, settings: Any) -> list[str]:
    """Return what is wrong with `settings` for `kind` (kinds without a generator take none)."""
    cls = SOURCES.get(kind)
    if cls is None:
        return [] if isinstance(settings, Mapping) else ["settings must be an object"]
    return cls.settings_errors(settings)
