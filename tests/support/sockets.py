"""The /ws/live/ side of tests: opening sockets (the `connect` fixture's type), frames, publishing."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from streams.messages import SampleFrame
from streams.publishing import send_stream_frame
from tests.streams.live_client import Live

Connect = Callable[..., Awaitable[Live]]


async def subscribe(live: Live, stream: str, **options: Any) -> list[dict[str, Any]]:
    """Subscribe; return what came up to the presence news that ends a subscription."""
    await live.send({"type": "subscribe", "stream": stream, **options})
    return await live.receive_until("presence")


async def next_data(live: Live) -> dict[str, Any]:
    """Return the next `data` frame, passing over presence news."""
    return (await live.receive_until("data"))[-1]


async def error_for(live: Live, message: dict[str, Any]) -> dict[str, Any]:
    """Send a command; return the error frame that answers it."""
    return await live.command(message, "error")


def seqs_of(frames: list[dict[str, Any]]) -> list[int]:
    """Return the seqs of every sample in the `data` frames among `frames`, in order."""
    return [s["seq"] for f in frames if f["type"] == "data" for s in f["samples"]]


async def frame_publish(slug: str, samples: list[SampleFrame]) -> None:
    """Publish a batch to the stream's watchers the way the producer does."""
    await send_stream_frame(slug=slug, batch=samples)
