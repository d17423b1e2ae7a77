"""/ws/live/ through the real ASGI application: auth, subscriptions, control, limits."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from channels.db import database_sync_to_async

from streams.history.retention import history_trim
from streams.live.shared_reads import SharedReads
from streams.models import ApiToken, Stream
from tests.support.samples import EPOCH_MS, samples_make, store
from tests.support.sockets import Connect, error_for, frame_publish, next_data, seqs_of, subscribe

pytestmark = pytest.mark.django_db(transaction=True)


# -- connecting ---------------------------------------------------------------


async def test_it_says_hello_with_the_user_and_the_limits(connect: Connect, owner: Any) -> None:
    alice = await connect(owner)
    assert alice.hello["user"] == "alice"
    assert alice.hello["protocol"] == 1
    assert alice.hello["server_time"] > 1_700_000_000_000
    assert alice.hello["limits"] == {
        "max_frame_bytes": 65536,
        "commands_per_second": 20.0,
        "command_burst": 60,
        "max_connections_per_user": 20,
        "max_subscriptions": 50,
        "idle_timeout": 300.0,
        "max_backfill": 10000,
        "history_rows_per_second": 100000,
    }


async def test_hello_announces_the_limits_in_force(
    connect: Connect, owner: Any, settings: Any
) -> None:
    settings.PULSEBOARD_MAX_SUBSCRIPTIONS = 3
    settings.PULSEBOARD_MAX_BACKFILL = 25
    alice = await connect(owner)
    assert alice.hello["limits"]["max_subscriptions"] == 3
    assert alice.hello["limits"]["max_backfill"] == 25


async def test_it_refuses_anonymous_visitors(connect: Connect) -> None:
    anonymous = await connect(None)
    assert not anonymous.connected


@pytest.mark.parametrize(
    "origin",
    [b"http://evil.example", b"null", b"http://127.0.0.1.evil.example", b"https://localhost.evil"],
)
async def test_it_refuses_a_foreign_origin(connect: Connect, owner: Any, origin: bytes) -> None:
    mallory_page = await connect(owner, origin=(b"origin", origin))
    assert not mallory_page.connected


async def test_it_refuses_a_session_cookie_without_an_origin(connect: Connect, owner: Any) -> None:
    script = await connect(owner, origin=None)
    assert not script.connected


async def test_it_accepts_a_token_without_an_origin(connect: Connect, owner_token: str) -> None:
    script = await connect(token=owner_token, origin=None)
    assert script.connected
    assert script.hello["user"] == "alice"


async def test_it_refuses_a_token_from_a_foreign_origin(connect: Connect, owner_token: str) -> None:
    page = await connect(token=owner_token, origin=(b"origin", b"http://evil.example"))
    assert not page.connected


@pytest.mark.parametrize("token", ["pb_not-a-real-token", "", "x" * 500])
async def test_it_refuses_a_bad_token(connect: Connect, owner_token: str, token: str) -> None:
    script = await connect(token=token, origin=None)
    assert not script.connected


async def test_it_refuses_the_token_of_a_deactivated_user(
    connect: Connect, owner: Any, owner_token: str
) -> None:
    owner.is_active = False
    await database_sync_to_async(owner.save)()
    script = await connect(token=owner_token, origin=None)
    assert not script.connected


async def test_it_refuses_a_deleted_token(connect: Connect, owner_token: str) -> None:
    await database_sync_to_async(ApiToken.objects.all().delete)()
    script = await connect(token=owner_token, origin=None)
    assert not script.connected


async def test_it_refuses_other_paths(connect: Connect, owner: Any) -> None:
    elsewhere = await connect(owner, path="/ws/elsewhere/")
    assert not elsewhere.connected


# -- subscribing --------------------------------------------------------------


async def test_subscribe_describes_the_stream(
    connect: Connect, owner: Any, private_stream: Stream
) -> None:
    await store(private_stream, range(1, 8))
    alice = await connect(owner)
    frames = await subscribe(alice, "sensors.alice", ref="s1")
    subscribed = frames[0]
    assert subscribed == {
        "type": "subscribed",
        "stream": "sensors.alice",
        "title": "Alice's sensor",
        "fields": [{"name": "temperature", "unit": "°C", "type": "number"}],
        "running": False,
        "seq": 7,
        "ref": "s1",
    }
    assert seqs_of(frames) == []
    assert frames[-1] == {
        "type": "presence",
        "stream": "sensors.alice",
        "connections": 1,
        "users": 1,
    }


async def test_backfill_sends_the_last_samples_in_order_then_live_ones(
    connect: Connect, owner: Any, private_stream: Stream
) -> None:
    await store(private_stream, range(1, 21))
    alice = await connect(owner)
    frames = await subscribe(alice, "sensors.alice", backfill=5)
    assert [f["type"] for f in frames] == ["subscribed", "data", "presence"]
    assert frames[1]["samples"] == samples_make(range(16, 21))

    live = await store(private_stream, [21, 22])
    await frame_publish("sensors.alice", live)
    data = await next_data(alice)
    assert data == {"type": "data", "stream": "sensors.alice", "samples": live}


async def test_backfill_larger_than_the_history_sends_all_of_it(
    connect: Connect, owner: Any, private_stream: Stream
) -> None:
    await store(private_stream, range(1, 4))
    alice = await connect(owner)
    frames = await subscribe(alice, "sensors.alice", backfill=500)
    assert seqs_of(frames) == [1, 2, 3]


async def test_backfill_of_an_empty_stream_sends_nothing_and_live_starts_at_one(
    connect: Connect, owner: Any, private_stream: Stream
) -> None:
    alice = await connect(owner)
    frames = await subscribe(alice, "sensors.alice", backfill=50)
    assert frames[0]["seq"] == 0
    assert seqs_of(frames) == []
    await frame_publish("sensors.alice", await store(private_stream, [1, 2]))
    assert seqs_of([await next_data(alice)]) == [1, 2]


async def test_backfill_over_the_limit_is_refused(
    connect: Connect, owner: Any, private_stream: Stream, settings: Any
) -> None:
    settings.PULSEBOARD_MAX_BACKFILL = 10
    alice = await connect(owner)
    error = await error_for(alice, {"type": "subscribe", "stream": "sensors.alice", "backfill": 11})
    assert error["code"] == "invalid_field"


async def test_it_skips_frames_the_client_already_has(
    connect: Connect, owner: Any, private_stream: Stream
) -> None:
    stored = await store(private_stream, range(1, 11))
    alice = await connect(owner)
    await subscribe(alice, "sensors.alice", backfill=10)
    await frame_publish("sensors.alice", stored[4:])  # 5..10, all sent already
    await frame_publish("sensors.alice", stored[9:])  # 10 again
    fresh = await store(private_stream, [11])
    await frame_publish("sensors.alice", fresh)
    assert seqs_of([await next_data(alice)]) == [11]


async def test_it_trims_a_frame_that_overlaps_what_was_sent(
    connect: Connect, owner: Any, private_stream: Stream
) -> None:
    await store(private_stream, range(1, 11))
    alice = await connect(owner)
    await subscribe(alice, "sensors.alice", backfill=3)
    overlapping = samples_make(range(8, 14))
    await store(private_stream, range(11, 14))
    await frame_publish("sensors.alice", overlapping)
    data = await next_data(alice)
    assert data["samples"] == samples_make(range(11, 14))


async def test_it_fills_a_hole_from_history_so_the_client_sees_every_seq(
    connect: Connect, owner: Any, private_stream: Stream
) -> None:
    await store(private_stream, range(1, 11))
    alice = await connect(owner)
    frames = await subscribe(alice, "sensors.alice", backfill=3)
    await store(private_stream, range(11, 16))
    # Frames 11..13 were lost on the way; only 14..15 arrive.
    await frame_publish("sensors.alice", samples_make([14, 15]))
    frames += await alice.receive_until("data")
    if seqs_of(frames)[-1] != 15:
        frames.append(await next_data(alice))
    assert seqs_of(frames) == list(range(8, 16))
    await frame_publish("sensors.alice", await store(private_stream, [16]))
    assert seqs_of([await next_data(alice)]) == [16]


async def test_since_sends_exactly_the_samples_after_it(
    connect: Connect, owner: Any, private_stream: Stream
) -> None:
    await store(private_stream, range(1, 21))
    alice = await connect(owner)
    frames = await subscribe(alice, "sensors.alice", since=15, backfill=3)
    assert frames[0]["recovered"] is True
    assert frames[0]["seq"] == 20
    assert seqs_of(frames) == [16, 17, 18, 19, 20]
    await frame_publish("sensors.alice", await store(private_stream, [21]))
    assert seqs_of([await next_data(alice)]) == [21]


async def test_since_the_last_seq_sends_nothing_but_recovers(
    connect: Connect, owner: Any, private_stream: Stream
) -> None:
    await store(private_stream, range(1, 6))
    alice = await connect(owner)
    frames = await subscribe(alice, "sensors.alice", since=5)
    assert frames[0]["recovered"] is True
    assert seqs_of(frames) == []


async def test_since_beyond_the_last_seq_is_not_recovered(
    connect: Connect, owner: Any, private_stream: Stream
) -> None:
    await store(private_stream, range(1, 6))
    alice = await connect(owner)
    frames = await subscribe(alice, "sensors.alice", since=99)
    assert frames[0]["recovered"] is False
    assert seqs_of(frames) == []
    await frame_publish("sensors.alice", await store(private_stream, [6]))
    assert seqs_of([await next_data(alice)]) == [6]


async def test_since_further_back_than_the_resume_limit_is_not_recovered(
    connect: Connect, owner: Any, private_stream: Stream, settings: Any
) -> None:
    settings.PULSEBOARD_MAX_RESUME = 4
    await store(private_stream, range(1, 21))
    alice = await connect(owner)
    frames = await subscribe(alice, "sensors.alice", since=3)
    assert frames[0]["recovered"] is False
    assert seqs_of(frames) == [17, 18, 19, 20]


async def test_since_older_than_retention_is_not_recovered(
    connect: Connect, owner: Any, private_stream: Stream
) -> None:
    await store(private_stream, range(1, 101))
    await database_sync_to_async(history_trim)(private_stream.pk, EPOCH_MS + 40_000)
    alice = await connect(owner)
    frames = await subscribe(alice, "sensors.alice", since=5)
    assert seqs_of(frames) == list(range(40, 101))
    assert frames[0]["recovered"] is False


async def test_a_long_resume_arrives_whole_and_in_order(
    connect: Connect, owner: Any, private_stream: Stream
) -> None:
    await store(private_stream, range(1, 4502))
    alice = await connect(owner)
    frames = await subscribe(alice, "sensors.alice", since=1)
    assert seqs_of(frames) == list(range(2, 4502))


async def test_unsubscribe_stops_the_frames(
    connect: Connect, owner: Any, private_stream: Stream, public_stream: Stream
) -> None:
    alice = await connect(owner)
    await subscribe(alice, "sensors.alice")
    await subscribe(alice, "sensors.lab-1")
    reply = await alice.command(
        {"type": "unsubscribe", "stream": "sensors.alice", "ref": 3}, "unsubscribed"
    )
    assert reply == {"type": "unsubscribed", "stream": "sensors.alice", "ref": 3}
    await frame_publish("sensors.alice", await store(private_stream, [1]))
    await frame_publish("sensors.lab-1", await store(public_stream, [1]))
    assert (await next_data(alice))["stream"] == "sensors.lab-1"


async def test_unsubscribe_from_a_stream_not_subscribed(
    connect: Connect, owner: Any, private_stream: Stream
) -> None:
    alice = await connect(owner)
    error = await error_for(alice, {"type": "unsubscribe", "stream": "sensors.alice", "ref": "u"})
    assert (error["code"], error["ref"]) == ("not_subscribed", "u")


async def test_a_sockets_subscribes_wait_on_their_reads_together(
    connect: Connect, owner: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    slugs = [f"sensors.side-{n}" for n in range(4)]
    for slug in slugs:
        await database_sync_to_async(Stream.objects.create)(
            slug=slug, title=slug, source_kind="sensor", owner=owner, fields=[{"name": "v"}]
        )
    # Each stream's history read waits until every stream has asked for one: with the
    # subscribes answered one after another, the first would wait alone and fail.
    asked: set[str] = set()
    everyone = asyncio.Event()
    read = SharedReads.snapshot

    async def snapshot_when_all_ask(self: SharedReads, stream: Stream, wanted: Any) -> Any:
        asked.add(stream.slug)
        if asked == set(slugs):
            everyone.set()
        await asyncio.wait_for(everyone.wait(), 5)
        return await read(self, stream, wanted)

    monkeypatch.setattr(SharedReads, "snapshot", snapshot_when_all_ask)
    alice = await connect(owner)
    for slug in slugs:
        await alice.send({"type": "subscribe", "stream": slug})
    replies = [(await alice.receive_until("subscribed"))[-1] for _ in slugs]
    assert sorted(reply["stream"] for reply in replies) == slugs


async def test_an_unsubscribe_right_after_a_subscribe_waits_for_it(
    connect: Connect, owner: Any, private_stream: Stream
) -> None:
    alice = await connect(owner)
    await alice.send({"type": "subscribe", "stream": "sensors.alice", "ref": 1})
    await alice.send({"type": "unsubscribe", "stream": "sensors.alice", "ref": 2})
    replies = await alice.receive_until("unsubscribed")
    kinds = [(reply["type"], reply.get("ref")) for reply in replies if reply["type"] != "presence"]
    assert kinds == [("subscribed", 1), ("unsubscribed", 2)]


async def test_frames_that_come_while_a_subscribe_waits_arrive_once_in_order(
    connect: Connect, owner: Any, private_stream: Stream, monkeypatch: pytest.MonkeyPatch
) -> None:
    await store(private_stream, range(1, 6))
    reading = asyncio.Event()
    go_on = asyncio.Event()
    read = SharedReads.snapshot

    async def slow_snapshot(self: SharedReads, stream: Stream, wanted: Any) -> Any:
        snapshot = await read(self, stream, wanted)
        reading.set()
        await go_on.wait()  # frames are published meanwhile
        return snapshot

    monkeypatch.setattr(SharedReads, "snapshot", slow_snapshot)
    alice = await connect(owner)
    await alice.send({"type": "subscribe", "stream": "sensors.alice", "backfill": 5})
    await reading.wait()
    await frame_publish("sensors.alice", await store(private_stream, [6, 7]))
    await frame_publish("sensors.alice", await store(private_stream, [8]))
    go_on.set()
    seen: list[int] = []
    while not seen or seen[-1] < 8:
        seen += seqs_of([await next_data(alice)])
    assert seen == list(range(1, 9))


async def test_it_rejects_other_users_private_stream(
    connect: Connect, outsider: Any, private_stream: Stream
) -> None:
    await store(private_stream, range(1, 4))
    mallory = await connect(outsider)
    error = await error_for(
        mallory, {"type": "subscribe", "stream": "sensors.alice", "backfill": 3, "ref": 1}
    )
    assert (error["code"], error["ref"]) == ("forbidden", 1)
    assert seqs_of(await mallory.roundtrip()) == []


async def test_anyone_logged_in_may_watch_a_public_stream(
    connect: Connect, outsider: Any, public_stream: Stream
) -> None:
    await store(public_stream, range(1, 4))
    mallory = await connect(outsider)
    frames = await subscribe(mallory, "sensors.lab-1", backfill=2)
    assert seqs_of(frames) == [2, 3]


async def test_staff_may_watch_a_private_stream(
    connect: Connect, staff: Any, private_stream: Stream
) -> None:
    olivia = await connect(staff)
    frames = await subscribe(olivia, "sensors.alice")
    assert frames[0]["type"] == "subscribed"


async def test_it_names_an_unknown_stream(connect: Connect, owner: Any) -> None:
    alice = await connect(owner)
    error = await error_for(alice, {"type": "subscribe", "stream": "no.such-stream"})
    assert error["code"] == "unknown_stream"


async def test_a_burst_of_resumes_reads_a_bounded_number_of_rows(
    connect: Connect, owner: Any, public_stream: Stream, settings: Any
) -> None:
    settings.PULSEBOARD_HISTORY_ROWS_PER_SECOND = 10
    settings.PULSEBOARD_MAX_RESUME = 500
    await store(public_stream, range(1, 401))
    alice = await connect(owner)
    first = await subscribe(alice, public_stream.slug, since=0)
    assert seqs_of(first) == list(range(1, 401))
    again = await error_for(alice, {"type": "subscribe", "stream": public_stream.slug, "since": 0})
    assert again["code"] == "rate_limited"
    # A small ask still fits what is left of the budget.
    small = await subscribe(alice, public_stream.slug, since=395)
    assert seqs_of(small) == list(range(396, 401))
