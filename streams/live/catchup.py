"""Catching a socket up from history: resume after a seq, backfill, and filling holes.

Every read of stored samples a socket makes goes through here, under the
connection's budget of rows a second.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
from django.conf import settings

from streams.contract import (
    SampleFrame,
    StreamFrameMessage,
    data_frame,
    presence_text,
    stream_group,
)
from streams.history.samples import history_after
from streams.live.access_events import AccessEvents
from streams.live.limits import CommandBudget
from streams.live.protocol import ProtocolError
from streams.live.shared_reads import HISTORY_PAGE, in_history_thread
from streams.metrics import metric_inc, metric_tally
from streams.models import Stream

FRAMES_SENT = metric_tally("pulseboard_frames_sent_total")


@dataclass
class Subscription:
    stream_id: int
    slug: str
    last_sent: int


class CatchUp(AccessEvents):
    """The history side of the live consumer, and its live frames trimmed by seq."""

    subscriptions: dict[str, Subscription]
    history_budget: CommandBudget

    async def charge_history(self, slug: str, rows: int, ref: Any) -> None:
        """Refuse a subscribe that would read more history than this connection has left."""
        if self.history_budget.allow(cost=rows):
            return
        if slug not in self.subscriptions:
            await self.channel_layer.group_discard(stream_group(slug), self.channel_name)
        rate = settings.PULSEBOARD_HISTORY_ROWS_PER_SECOND
        raise ProtocolError(
            "rate_limited", f"At most {rate} stored samples a second; subscribe again later.", ref
        )

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

    async def send_history_after(self, stream: Stream, since: int, until: int) -> None:
        cursor = since
        while cursor < until:
            page = await in_history_thread(
                history_after, stream.pk, cursor, until=until, limit=HISTORY_PAGE
            )
            if not page:
                break
            await self.send_samples(stream.slug, page)
            cursor = page[-1]["seq"]

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
        if missing:
            await self.send_samples(subscription.slug, missing)
            subscription.last_sent = missing[-1]["seq"]
            metric_inc("pulseboard_samples_refilled_total", len(missing))
