"""Demo streams of every source kind, and hours of history made by running their sources."""

from __future__ import annotations

import random
from typing import Any

from tqdm import tqdm

from streams.clock import now_ms
from streams.history.store import history_append
from streams.messages import sample_frame
from streams.models import Sample, SourceKind, Stream
from streams.sources import SOURCES, Source, source_create

HOUR = 3600

# slug, title, kind, settings, retention, seconds of history to generate
DEMO_STREAMS: list[tuple[str, str, str, dict[str, Any], int, int]] = [
    ("sensors.lab-1", "Lab 1 environment", "sensor", {}, 7 * 24 * HOUR, 2 * HOUR),
    ("sensors.lab-2", "Lab 2 environment", "sensor", {}, 7 * 24 * HOUR, 2 * HOUR),
    ("system.host", "This host", "system", {}, 7 * 24 * HOUR, 0),
    (
        "sine.1khz",
        "Sine, 1 kHz sampling",
        "sine",
        {"frequency": 1.0, "amplitude": 1.0, "rate": 1000},
        24 * HOUR,  # about 62 MB once in blocks (docs/performance.md, "Storage")
        60,
    ),
    ("anomaly.demo", "Anomaly detector", "anomaly", {}, 7 * 24 * HOUR, 2 * HOUR),
    ("business.kpi", "Business counters", "business", {}, 7 * 24 * HOUR, 2 * HOUR),
    ("price.BTC-USD", "BTC-USD market", "market", {"symbol": "BTC-USD"}, 24 * HOUR, HOUR // 2),
    ("push.demo", "Pushed by scripts", "push", {}, 7 * 24 * HOUR, 0),
    (
        "replay.lab-1",
        "Lab 1, last hour at 10×",
        "replay",
        {"source": "sensors.lab-1", "speed": 10, "loop": 1},
        24 * HOUR,
        0,
    ),
]
PUSH_FIELDS = [{"name": "value", "unit": "", "type": "number"}]
BATCH = 5_000


def demo_streams_create(owner: Any) -> list[str]:
    """Create the demo streams that are missing, owned by `owner`; return the new slugs."""
    created = []
    now = now_ms()
    for slug, title, kind, source_settings, retention, _ in DEMO_STREAMS:
        fields = SOURCES[kind].fields if kind in SOURCES else PUSH_FIELDS
        if kind == "replay":
            # The last hour of its source, as it stands when the demo is seeded.
            source_settings = {**source_settings, "from": now - HOUR * 1000, "to": now}
            fields = Stream.objects.get(slug=source_settings["source"]).fields
        _, was_created = Stream.objects.get_or_create(
            slug=slug,
            defaults={
                "title": title,
                "source_kind": kind,
                "source_settings": source_settings,
                "fields": fields,
                "owner": owner,
                "is_public": True,
                "retention_seconds": retention,
            },
        )
        if was_created:
            created.append(slug)
    return created


def demo_history_todo() -> list[tuple[Stream, Source, int]]:
    """Return the demo streams with no history yet, each with a seeded source and its seconds."""
    todo = []
    for slug, _, kind, source_settings, _, seconds in DEMO_STREAMS:
        stream = Stream.objects.get(slug=slug)
        if (
            seconds
            and kind != SourceKind.SYSTEM
            and not Sample.objects.filter(stream=stream).exists()
        ):
            source = source_create(kind, source_settings, rng=random.Random(slug))
            todo.append((stream, source, seconds))
    return todo


def demo_history_generate(todo: list[tuple[Stream, Source, int]]) -> None:
    """Run each source on a past clock up to now, storing in batches, with a progress bar."""
    now = now_ms()
    total = sum(seconds for _, _, seconds in todo)
    with tqdm(total=total, unit="s", desc="Generating history", disable=None) as progress:
        for stream, source, seconds in todo:
            history_generate(stream, source, now - seconds * 1000, now, progress)


def history_generate(stream: Stream, source: Any, start: int, end: int, progress: tqdm) -> None:
    source.next_t = float(start)
    seq = 0
    batch = []
    # Steps shorter than the sources' catch-up limit, so nothing is skipped.
    for step_end in range(start, end + 1, 1_000):
        for reading in source.poll(step_end):
            seq += 1
            batch.append(sample_frame(seq, reading.t, reading.values, reading.flags))
        progress.update(1)
        if len(batch) >= BATCH:
            history_append({stream.pk: batch})
            batch = []
    if batch:
        history_append({stream.pk: batch})
