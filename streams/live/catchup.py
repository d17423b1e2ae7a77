"""Catching a socket up from history: resume after a seq, backfill, and filling holes.

Every read of stored samples a socket makes goes through here, drawn from its
viewer's allowance of rows a second (streams/live/allowance.py), shared by all
their sockets in the process. An ask is refused (`rate_limited`) when the
allowance cannot cover it; rows that a batch read for several subscribers count
once, to the one whose ask made the read that large; a hole's refill is never
refused, only counted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
from django.conf import settings

from streams.access import stream_readable_directly
from streams.contract import (
    SampleFrame,
    StreamFrameMessage,
    data_frame,
    presence_text,
    stream_group,
)
from streams.history.samples import history_after
from streams.live.access_events import AccessEvents
from streams.live.allowance import Allowance, history_allowances
from streams.live.protocol import ProtocolError
from streams.live.shared_reads import HISTORY_PAGE, Wanted, in_history_thread
from streams.metrics import metric_inc, metric_tally
from streams.models import Stream

FRAMES_SENT = metric_tally("pulseboard_frames_sent_total")


@dataclass
class Subscription:
    stream_id: int
    slug: str
    last_sent: int
    # The stream as last read, and whether the viewer reads it in their own right
    # (else through a dashboard): what the access sweep compares.
    is_public: bool = False
    owner_id: int | None = None
    direct: bool = True

    def note_rights(self, stream: Stream, user: Any) -> None:
        self.is_public, self.owner_id = stream.is_public, stream.owner_id
        self.direct = stream_readable_directly(stream, user)


class CatchUp(AccessEvents):
    """The history side of the live consumer, and its live frames trimmed by seq."""

    subscriptions: dict[str, Subscription]
    viewer: str

    def allowance(self) -> Allowance:
        """Return this viewer's allowance of stored samples (looked up each time: shared, pruned)."""
        return history_allowances.of(self.viewer)

    async def history_refused(self, slug: str, ref: Any) -> None:
        """Refuse a subscribe for want of allowance (leaving the group it joined for it)."""
        if slug not in self.subscriptions:
            await self.channel_layer.group_discard(stream_group(slug), self.channel_name)
        rate = settings.PULSEBOARD_HISTORY_ROWS_PER_SECOND
        raise ProtocolError(
            "rate_limited",
            f"At most {rate} stored samples a second per user; subscribe again later.",
            ref,
        )

    async def admit_history(self, slug: str, wanted: Wanted, ref: Any) -> None:
        """Refuse, before any read, an ask the allowance cannot cover (any while overdrawn)."""
        if wanted.since is None and not wanted.backfill:
            return
        if not self.allowance().covers(wanted.backfill if wanted.since is None else 0):
            await self.history_refused(slug, ref)

    async def take_history(self, slug: str, rows: int, ref: Any) -> None:
        """Draw `rows` about to be read or sent, or refuse the subscribe."""
        if not self.allowance().take(rows):
            await self.history_refused(slug, ref)

    @staticmethod
    def resume_start(since: int, first_seq: int, last_seq: int) -> tuple[int, bool]:
        """Return the seq to resume after, and whether the client's gap can be filled whole.

        It cannot when `since` is beyond the stream (a reset database), before what
        retention kept, or further back than PULSEBOARD_MAX_RESUME samples.
        """
        if since > last_seq:
            return last_seq, False
        floor = max(last_seq - settings.PULSEBOARD_MAX_RESUME, first_seq - 1, 0)
        return (since, True) if since >= floor else (floor, False)

    async def send_history_after(self, stream: Stream, since: int, until: int) -> int:
        """Read and send the samples in (since, until] page by page; return how many there were."""
        cursor, read = since, 0
        while cursor < until:
            page = await in_history_thread(
                history_after, stream.pk, cursor, until=until, limit=HISTORY_PAGE
            )
            if not page:
                break
            read += len(page)
            await self.send_samples(stream.slug, page)
            cursor = page[-1]["seq"]
        return read

    async def send_samples(self, slug: str, samples: list[SampleFrame]) -> None:
        for start in range(0, len(samples), HISTORY_PAGE):
            await self.send(text_data=data_frame(slug, samples[start : start + HISTORY_PAGE]))

    def deliver_now(self, message: dict[str, Any]) -> bool:
        """Write a live frame that follows what the client has (or a presence count) at once.

        Anything else (a frame to trim or after a hole, another message, a socket
        that cannot take it now) goes through the queue to its handler.
        """
        if message["type"] == "stream.presence":
            return message["stream"] in self.subscriptions and self.write_shared(
                presence_text(message)
            )
        if message["type"] != "stream.frame":
            return False
        subscription = self.subscriptions.get(message["stream"])
        if subscription is None or message["first"] != subscription.last_sent + 1:
            return False
        if not self.write_shared(message["text"]):
            return False
        subscription.last_sent = message["last"]
        FRAMES_SENT.count += 1
        return True

    async def stream_frame(self, event: StreamFrameMessage) -> None:
        subscription = self.subscriptions.get(event["stream"])
        if subscription is None:
            return
        first, last = event["first"], event["last"]
        if last <= subscription.last_sent:
            metric_inc("pulseboard_frames_skipped_total")
            return
        if first > subscription.last_sent + 1:
            # Frames were lost on the way (a full queue, a lost subscription):
            # fill the hole from history so the client never sees one.
            await self.refill(subscription, until=first - 1)
        if first <= subscription.last_sent:
            samples = orjson.loads(event["text"])["samples"]
            fresh = [s for s in samples if s["seq"] > subscription.last_sent]
            await self.send(text_data=data_frame(subscription.slug, fresh))
        else:
            await self.send_shared(event["text"])
        subscription.last_sent = last
        FRAMES_SENT.count += 1

    async def refill(self, subscription: Subscription, *, until: int) -> None:
        missing = await in_history_thread(
            history_after,
            subscription.stream_id,
            subscription.last_sent,
            until=until,
            limit=settings.PULSEBOARD_MAX_RESUME,
        )
        # Never refused (the client would see a hole), but read, so counted.
        self.allowance().charge(len(missing))
        if missing:
            await self.send_samples(subscription.slug, missing)
            subscription.last_sent = missing[-1]["seq"]
            metric_inc("pulseboard_samples_refilled_total", len(missing))
