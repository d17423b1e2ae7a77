"""What producer tests share: a clock moved by hand, a layer that witnesses storing, checks."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from channels.db import database_sync_to_async
from channels.layers import InMemoryChannelLayer

from streams.models import Sample, SourceKind, Stream, StreamLease
from streams.producer.loop import Producer
from tests.support.factories import make_stream
from tests.support.samples import EPOCH_MS

LEASE_SECONDS = 10
MakeProducer = Callable[..., Producer]


class Clock:
    """A clock the test moves by hand, in UTC milliseconds."""

    def __init__(self, now: int = EPOCH_MS + 1_000_000):
        self.now = now

    def __call__(self) -> int:
        return self.now

    def advance(self, ms: int) -> None:
        self.now += ms


class StorageWitnessLayer(InMemoryChannelLayer):
    """The in-memory layer, noting for every data frame how much of it was stored when sent."""

    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)
        self.published: list[tuple[int, int, int]] = []  # first, last, how many were stored

    async def group_send(self, group: str, message: dict[str, Any]) -> None:
        if message.get("type") == "stream.frame":
            stored = await database_sync_to_async(
                Sample.objects.filter(
                    stream__slug=message["stream"],
                    seq__gte=message["first"],
                    seq__lte=message["last"],
                ).count
            )()
            self.published.append((message["first"], message["last"], stored))
        await super().group_send(group, message)


def sine_stream(slug: str, *, running: bool = True, **source_settings: Any) -> Stream:
    """Return a public sine of 100 samples a second (settings overridable), running by default."""
    return make_stream(
        slug,
        kind=SourceKind.SINE,
        source_settings={"rate": 100, **source_settings},
        running=running,
        is_public=True,
    )


@database_sync_to_async
def lease_of(stream: Stream) -> tuple[str, int]:
    """Return who holds the stream's lease and until when."""
    lease = StreamLease.objects.get(stream=stream)
    return lease.holder, lease.expires_ms


@database_sync_to_async
def running_in_database(stream: Stream) -> bool:
    return Stream.objects.get(pk=stream.pk).running


def assert_contiguous(rows: Sequence[Sequence[Any]], first: int = 1) -> None:
    """Fail unless the rows' seqs (first item) run on from `first` and their times (second) grow."""
    seqs = [row[0] for row in rows]
    assert seqs == list(range(first, first + len(rows)))
    times = [row[1] for row in rows]
    assert times == sorted(times)
