"""Presence in one process: coalesced announcements and connection counts per viewer."""

from __future__ import annotations

import asyncio
from typing import Any

from streams.live.presence import Announcer, Presence


class GroupLog:
    """A stand-in for the layer that records what the announcer sends."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    async def group_send(self, group: str, message: dict[str, Any]) -> None:
        self.sent.append(message)


async def test_many_joins_at_once_cost_two_announcements_with_the_final_count() -> None:
    watching = Presence()
    announcer, sent = Announcer(interval=0.2), GroupLog()

    async def counts(slug: str) -> dict[str, int]:
        return watching.viewers(slug)

    for n in range(50):
        watching.watch("sine", f"c{n}", f"user:{n % 5}")
        await announcer.announce(sent, "sine", counts)
    assert [m["connections"] for m in sent.sent] == [1]
    await asyncio.sleep(0.3)
    assert sent.sent[-1] == {
        "type": "stream.presence",
        "stream": "sine",
        "connections": 50,
        "users": 5,
    }
    assert len(sent.sent) == 2
    await asyncio.sleep(0.25)
    watching.unwatch("sine", "c0")
    await announcer.announce(sent, "sine", counts)
    assert sent.sent[-1]["connections"] == 49  # after a quiet interval: at once


async def test_connection_counts_per_viewer_follow_connects_and_disconnects() -> None:
    watching = Presence()
    for n in range(3):
        watching.connect(f"c{n}", "user:1")
    watching.connect("c3", "user:2")
    watching.connect("c0", "user:1")  # the same channel again counts once
    assert watching.connection_count("user:1") == 3
    watching.disconnect("c1")
    watching.disconnect("c1")
    assert watching.connection_count("user:1") == 2
    assert watching.connection_count("user:2") == 1
