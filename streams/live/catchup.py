"""A live socket's subscriptions, caught up from history and fed live frames trimmed by seq.

A subscribe joins the stream's group first, then reads history, so nothing
published meanwhile is missed: each `Subscription` remembers the last seq its
client has, frames at or below it are skipped or trimmed, and a hole before a
frame is filled from history (`refill`). Every read of stored samples draws on
the viewer's allowance of rows (streams/live/allowance.py): an ask it cannot
cover is refused (`rate_limited`); rows a batch read for several subscribers
count once, to the one whose ask made it that large; a refill is never refused,
only counted.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
from django.conf import settings

from streams.access import stream_readable_directly
from streams.fanout.transport import Writer
from streams.history.samples import history_after
from streams.live.allowance import Allowance
from streams.live.protocol import ProtocolError, Subscribe
from streams.live.shared_reads import (
    HISTORY_PAGE,
    Snapshot,
    Wanted,
    in_history_thread,
    shared_reads,
)
from streams.messages import (
    SampleFrame,
    StreamFrameMessage,
    SubscribedFrame,
    data_frame,
    encode,
    presence_text,
    stream_group,
)
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


def resume_start(since: int, first_seq: int, last_seq: int) -> tuple[int, bool]:
    """Return the seq to resume after, and whether the client's gap can be filled whole.

    It cannot when `since` is beyond the stream (a reset database), before what
    retention kept, or further back than PULSEBOARD_MAX_RESUME samples.
    """
    if since > last_seq:
        return last_seq, False
    floor = max(last_seq - settings.PULSEBOARD_MAX_RESUME, first_seq - 1, 0)
    return (since, True) if since >= floor else (floor, False)


class Subscriptions:
    """One socket's streams (slug → `Subscription`), their catch-up and their live frames."""

    def __init__(
        self,
        writer: Writer,
        layer: Any,
        channel: str,
        allowance: Callable[[], Allowance],
    ):
        self.writer = writer
        self.layer = layer
        self.channel = channel
        self.allowance = allowance  # looked up each time: shared by the viewer's sockets, pruned
        self.streams: dict[str, Subscription] = {}
        self.joining: set[str] = set()  # streams whose subscribe runs beside the loop

    def __contains__(self, slug: str) -> bool:
        return slug in self.streams

    def taken(self) -> set[str]:
        """Return the streams subscribed or being joined (what the subscription limit counts)."""
        return self.streams.keys() | self.joining

    # -- joining: history, then live ------------------------------------------------

    async def join(self, stream: Stream, command: Subscribe, user: Any) -> Subscription:
        """Join the stream's group, send its history as asked, and start following it live."""
        # Join first: every frame published from now on waits in our queue while
        # history is read, and the seq bookkeeping drops what history already sent.
        await self.layer.group_add(stream.group_name, self.channel)
        wanted = Wanted(backfill=command.backfill, since=command.since)
        await self.admit_history(stream.slug, wanted, command.ref)
        snapshot = await shared_reads().snapshot(stream, wanted)
        reply: SubscribedFrame = {
            "type": "subscribed",
            "stream": stream.slug,
            "title": stream.title,
            "fields": stream.fields,
            "running": stream.running,
            "seq": snapshot.last_seq,
            "ref": command.ref,
        }
        if command.since is not None:
            last_seq = await self.resume(stream, snapshot, wanted, reply, command)
        else:
            last_seq = await self.backfill(snapshot, wanted, reply, command)
        subscription = self.streams[stream.slug] = Subscription(stream.pk, stream.slug, last_seq)
        subscription.note_rights(stream, user)
        return subscription

    async def resume(
        self,
        stream: Stream,
        snapshot: Snapshot,
        wanted: Wanted,
        reply: SubscribedFrame,
        command: Subscribe,
    ) -> int:
        """Send the samples after `since` (as far back as allowed); return the last seq sent."""
        assert command.since is not None
        last_seq = snapshot.last_seq
        start, recovered = resume_start(command.since, snapshot.first_seq, last_seq)
        covered = snapshot.covers(start)
        # Rows of the batch's read count for whoever made it that large; the rest are ours.
        ours = last_seq - start if snapshot.payer is wanted or not covered else 0
        await self.take_history(stream.slug, ours, command.ref)
        reply["recovered"] = recovered
        await self.writer.send_text(encode(reply))
        if covered:
            await self.writer.send_shared_texts(snapshot.frames_after(start, last_seq))
        else:
            read = await self.send_history_after(stream, start, last_seq)
            self.allowance().give_back(ours - read)
        return last_seq

    async def backfill(
        self, snapshot: Snapshot, wanted: Wanted, reply: SubscribedFrame, command: Subscribe
    ) -> int:
        """Send the newest `backfill` samples; return the last seq sent."""
        backfill = snapshot.latest(command.backfill)
        if snapshot.payer is wanted:
            self.allowance().charge(len(backfill))
        await self.writer.send_text(encode(reply))
        await self.writer.send_shared_texts(snapshot.frames_latest(command.backfill))
        # Samples stored since last_seq was read may be in the backfill already.
        return max(snapshot.last_seq, backfill[-1]["seq"]) if backfill else snapshot.last_seq

    async def history_refused(self, slug: str, ref: Any) -> None:
        """Refuse a subscribe for want of allowance (leaving the group it joined for it)."""
        if slug not in self.streams:
            await self.layer.group_discard(stream_group(slug), self.channel)
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
            await self.writer.send_text(data_frame(slug, samples[start : start + HISTORY_PAGE]))

    async def leave(self, slug: str) -> Subscription | None:
        """Stop following a stream; return its subscription, None when there was none."""
        subscription = self.streams.pop(slug, None)
        await self.layer.group_discard(stream_group(slug), self.channel)
        return subscription

    # -- live frames ----------------------------------------------------------------

    def deliver_now(self, message: dict[str, Any]) -> bool:
        """Write a live frame that follows what the client has (or a presence count) at once.

        Anything else (a frame to trim or after a hole, another message, a socket
        that cannot take it now) goes through the queue to its handler.
        """
        if message["type"] == "stream.presence":
            return message["stream"] in self.streams and self.writer.write_shared(
                presence_text(message)
            )
        if message["type"] != "stream.frame":
            return False
        subscription = self.streams.get(message["stream"])
        if subscription is None or message["first"] != subscription.last_sent + 1:
            return False
        if not self.writer.write_shared(message["text"]):
            return False
        subscription.last_sent = message["last"]
        FRAMES_SENT.count += 1
        return True

    async def frame(self, event: StreamFrameMessage) -> None:
        """Send a live frame from the queue: skipped, trimmed, or after its hole is filled."""
        subscription = self.streams.get(event["stream"])
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
            await self.writer.send_text(data_frame(subscription.slug, fresh))
        else:
            await self.writer.send_shared(event["text"])
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
