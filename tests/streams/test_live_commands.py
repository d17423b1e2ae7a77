"""/ws/live/ commands: start and stop, ping and presence, limits, publishing."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from channels.db import database_sync_to_async

from streams.messages import data_frame
from streams.models import Stream
from tests.streams.live_client import Live
from tests.support.producers import running_in_database
from tests.support.samples import store, stored_samples_async
from tests.support.sockets import Connect, error_for, frame_publish, next_data, subscribe

pytestmark = pytest.mark.django_db(transaction=True)


# -- start and stop -----------------------------------------------------------


async def test_owner_starts_and_stops_and_every_watcher_sees_it(
    connect: Connect, owner: Any, outsider: Any, public_stream: Stream
) -> None:
    alice = await connect(owner)
    mallory = await connect(outsider)
    await subscribe(alice, "sensors.lab-1")
    await subscribe(mallory, "sensors.lab-1")

    await alice.send({"type": "start", "stream": "sensors.lab-1"})
    status = {"type": "status", "stream": "sensors.lab-1", "running": True, "by": "alice"}
    assert (await alice.receive_until("status"))[-1] == status | {"ref": None}
    assert (await mallory.receive_until("status"))[-1] == status
    assert await running_in_database(public_stream) is True

    await alice.send({"type": "stop", "stream": "sensors.lab-1"})
    status = {"type": "status", "stream": "sensors.lab-1", "running": False, "by": "alice"}
    assert (await alice.receive_until("status"))[-1] == status | {"ref": None}
    assert (await mallory.receive_until("status"))[-1] == status
    assert await running_in_database(public_stream) is False


async def test_a_controller_who_does_not_watch_still_gets_the_status(
    connect: Connect, owner: Any, private_stream: Stream
) -> None:
    alice = await connect(owner)
    status = await alice.command({"type": "start", "stream": "sensors.alice"}, "status")
    assert status == {
        "type": "status",
        "stream": "sensors.alice",
        "running": True,
        "by": "alice",
        "ref": None,
    }
    assert await running_in_database(private_stream) is True


async def test_the_status_reply_to_start_echoes_the_ref(
    connect: Connect, owner: Any, private_stream: Stream
) -> None:
    alice = await connect(owner)
    status = await alice.command({"type": "start", "stream": "sensors.alice", "ref": 9}, "status")
    assert status.get("ref") == 9


async def test_it_rejects_start_and_stop_by_a_watcher_who_is_not_the_owner(
    connect: Connect, owner: Any, outsider: Any, public_stream: Stream
) -> None:
    alice = await connect(owner)
    mallory = await connect(outsider)
    await subscribe(alice, "sensors.lab-1")
    await subscribe(mallory, "sensors.lab-1")
    error = await error_for(mallory, {"type": "start", "stream": "sensors.lab-1", "ref": "go"})
    assert (error["code"], error["ref"]) == ("forbidden", "go")
    assert await running_in_database(public_stream) is False

    await frame_publish("sensors.lab-1", await store(public_stream, [1]))
    assert [f["type"] for f in await alice.receive_until("data")] in (
        ["data"],
        ["presence", "data"],
    )


async def test_it_rejects_stopping_other_users_private_stream(
    connect: Connect, outsider: Any, private_stream: Stream
) -> None:
    await database_sync_to_async(Stream.objects.filter(pk=private_stream.pk).update)(running=True)
    mallory = await connect(outsider)
    error = await error_for(mallory, {"type": "stop", "stream": "sensors.alice"})
    assert error["code"] == "forbidden"
    assert await running_in_database(private_stream) is True


async def test_staff_may_start_other_users_streams(
    connect: Connect, owner: Any, staff: Any, private_stream: Stream
) -> None:
    alice = await connect(owner)
    olivia = await connect(staff)
    await subscribe(alice, "sensors.alice")
    await olivia.send({"type": "start", "stream": "sensors.alice"})
    status = (await alice.receive_until("status"))[-1]
    assert (status["running"], status["by"]) == (True, "olivia")
    assert await running_in_database(private_stream) is True


async def test_a_stopped_push_stream_refuses_pushes_until_started(
    connect: Connect, owner: Any, push_stream: Stream
) -> None:
    alice = await connect(owner)
    publish = {"type": "publish", "stream": "push.alice", "samples": [{"values": {"value": 1}}]}
    stopped = await alice.command({"type": "stop", "stream": "push.alice"}, "status")
    assert stopped["running"] is False
    assert (await error_for(alice, publish))["code"] == "stream_stopped"
    await alice.command({"type": "start", "stream": "push.alice"}, "status")
    assert (await alice.command(publish, "published"))["count"] == 1


async def test_start_of_an_unknown_stream(connect: Connect, owner: Any) -> None:
    alice = await connect(owner)
    assert (await error_for(alice, {"type": "start", "stream": "nope"}))["code"] == "unknown_stream"


# -- ping and presence --------------------------------------------------------


async def test_ping_gets_a_pong_with_the_same_t(connect: Connect, owner: Any) -> None:
    alice = await connect(owner)
    pong = await alice.command({"type": "ping", "t": 123.5}, "pong")
    assert pong["t"] == 123.5
    assert abs(pong["server_time"] - alice.hello["server_time"]) < 10_000


async def test_pong_echoes_the_ref(connect: Connect, owner: Any) -> None:
    alice = await connect(owner)
    pong = await alice.command({"type": "ping", "t": 1, "ref": "hb-7"}, "pong")
    assert pong.get("ref") == "hb-7"


async def presence_seen(live: Live, connections: int, users: int) -> None:
    """Wait until `live` is told the stream has this many viewers."""
    while True:
        presence = (await live.receive_until("presence"))[-1]
        if (presence["connections"], presence["users"]) == (connections, users):
            return


async def test_presence_counts_connections_and_users(
    connect: Connect, owner: Any, outsider: Any, public_stream: Stream
) -> None:
    alice = await connect(owner)
    alice_phone = await connect(owner)
    mallory = await connect(outsider)
    assert (await subscribe(alice, "sensors.lab-1"))[-1] == {
        "type": "presence",
        "stream": "sensors.lab-1",
        "connections": 1,
        "users": 1,
    }
    presence = (await subscribe(alice_phone, "sensors.lab-1"))[-1]
    assert (presence["connections"], presence["users"]) == (2, 1)
    presence = (await subscribe(mallory, "sensors.lab-1"))[-1]
    assert (presence["connections"], presence["users"]) == (3, 2)
    await presence_seen(alice, 3, 2)

    await mallory.disconnect()
    await presence_seen(alice, 2, 1)
    await alice_phone.send({"type": "unsubscribe", "stream": "sensors.lab-1"})
    await presence_seen(alice, 1, 1)


# -- limits -------------------------------------------------------------------


async def test_too_many_commands_are_refused_then_a_flood_is_closed(
    connect: Connect, owner: Any, settings: Any
) -> None:
    settings.PULSEBOARD_COMMANDS_PER_SECOND = 0.1
    settings.PULSEBOARD_COMMAND_BURST = 3
    alice = await connect(owner)
    for _ in range(3):
        await alice.roundtrip()
    error = await alice.command({"type": "ping", "t": 0}, "error")
    assert error["code"] == "rate_limited"
    for _ in range(3):
        await alice.send({"type": "ping", "t": 0})
    assert await alice.closed_with() == 4030


async def test_the_command_budget_refills_with_time(
    connect: Connect, owner: Any, settings: Any
) -> None:
    settings.PULSEBOARD_COMMANDS_PER_SECOND = 20
    settings.PULSEBOARD_COMMAND_BURST = 2
    alice = await connect(owner)
    await alice.roundtrip()
    await alice.roundtrip()
    await alice.send({"type": "ping", "t": 0})
    await alice.send({"type": "ping", "t": 0})
    assert (await alice.receive())["code"] == "rate_limited"
    await asyncio.sleep(0.12)
    await alice.roundtrip()


async def test_a_frame_over_the_size_limit_is_refused(
    connect: Connect, owner: Any, settings: Any
) -> None:
    settings.PULSEBOARD_MAX_FRAME_BYTES = 256
    alice = await connect(owner)
    assert (await error_for(alice, {"type": "ping", "pad": "x" * 300}))["code"] == "too_large"
    # 150 characters, 300 bytes: the limit is in bytes.
    assert (await error_for(alice, {"type": "ping", "pad": "é" * 150}))["code"] == "too_large"
    await alice.roundtrip()


async def test_subscriptions_over_the_limit_are_refused(
    connect: Connect, owner: Any, private_stream: Stream, public_stream: Stream, settings: Any
) -> None:
    settings.PULSEBOARD_MAX_SUBSCRIPTIONS = 1
    alice = await connect(owner)
    await subscribe(alice, "sensors.alice")
    error = await error_for(alice, {"type": "subscribe", "stream": "sensors.lab-1"})
    assert error["code"] == "too_many"
    assert (await subscribe(alice, "sensors.alice"))[0]["type"] == "subscribed"
    await alice.command({"type": "unsubscribe", "stream": "sensors.alice"}, "unsubscribed")
    assert (await subscribe(alice, "sensors.lab-1"))[0]["type"] == "subscribed"


async def test_connections_over_the_per_user_limit_are_closed(
    connect: Connect, owner: Any, outsider: Any, settings: Any
) -> None:
    settings.PULSEBOARD_MAX_CONNECTIONS_PER_USER = 2
    first = await connect(owner)
    await connect(owner)
    third = await connect(owner, hello=False)
    error = await third.receive()
    assert (error["type"], error["code"]) == ("error", "too_many")
    assert await third.closed_with() == 4029
    assert (await connect(outsider)).connected, "the limit is per user"

    await first.disconnect()
    again = await connect(owner)
    assert again.hello["user"] == "alice"


async def test_an_idle_connection_is_closed(connect: Connect, owner: Any, settings: Any) -> None:
    settings.PULSEBOARD_IDLE_TIMEOUT = 0.6
    alice = await connect(owner)
    for _ in range(5):
        await asyncio.sleep(0.15)
        await alice.roundtrip()  # activity keeps it open
    assert await alice.closed_with(timeout=2) == 4008


async def test_a_binary_frame_is_refused(connect: Connect, owner: Any) -> None:
    alice = await connect(owner)
    await alice.communicator.send_to(bytes_data=b'{"type": "ping"}')
    error = await alice.receive()
    assert error["code"] == "binary_not_supported"
    await alice.roundtrip()


BAD_INPUTS = [
    ("not json", "invalid_json"),
    ("[" * 3000 + "]" * 3000, "invalid_json"),
    ("[1, 2]", "not_an_object"),
    ('{"stream": "sensors.alice"}', "missing_field"),
    ('{"type": "dance"}', "unknown_type"),
    ('{"type": "subscribe"}', "missing_field"),
    ('{"type": "subscribe", "stream": 5}', "invalid_field"),
    ('{"type": "subscribe", "stream": "sensors.alice", "backfill": true}', "invalid_field"),
    ('{"type": "subscribe", "stream": "sensors.alice", "since": -1}', "invalid_field"),
    ('{"type": "subscribe", "stream": "nope"}', "unknown_stream"),
    ('{"type": "subscribe", "stream": "sensors.alice"}', "forbidden"),
    ('{"type": "stop", "stream": "sensors.alice"}', "forbidden"),
    ('{"type": "unsubscribe", "stream": "sensors.alice"}', "not_subscribed"),
    ('{"type": "ping", "t": "now"}', "invalid_field"),
    ('{"type": "publish", "stream": "push.alice", "samples": {}}', "invalid_field"),
    ('{"type": "publish", "stream": "push.alice", "samples": []}', "forbidden"),
]


async def test_after_every_bad_input_the_connection_still_answers(
    connect: Connect, outsider: Any, private_stream: Stream, push_stream: Stream
) -> None:
    mallory = await connect(outsider)
    for text, code in BAD_INPUTS:
        await mallory.send_text(text)
        error = await mallory.receive()
        assert (error["type"], error["code"]) == ("error", code), text
        assert error["message"], text
        await mallory.roundtrip()


# -- publishing ---------------------------------------------------------------


async def test_publish_to_a_push_stream_stores_and_fans_out(
    connect: Connect, owner_token: str, outsider: Any, push_stream: Stream
) -> None:
    mallory = await connect(outsider)
    await subscribe(mallory, "push.alice")
    script = await connect(token=owner_token, origin=None)
    samples = [
        {"t": 1_700_000_000_000, "values": {"value": 1.5}},
        {"t": 1_700_000_000_500, "values": {"value": 2, "label": "ok"}, "flags": ["anomaly"]},
    ]
    reply = await script.command(
        {"type": "publish", "stream": "push.alice", "samples": samples, "ref": "p"}, "published"
    )
    assert reply == {
        "type": "published",
        "stream": "push.alice",
        "count": 2,
        "first": 1,
        "last": 2,
        "ref": "p",
    }
    assert [row.seq for row in await stored_samples_async(push_stream)] == [1, 2]
    data = await next_data(mallory)
    assert data == {
        "type": "data",
        "stream": "push.alice",
        "samples": [
            {"seq": 1, "t": 1_700_000_000_000, "values": {"value": 1.5}},
            {
                "seq": 2,
                "t": 1_700_000_000_500,
                "values": {"value": 2, "label": "ok"},
                "flags": ["anomaly"],
            },
        ],
    }


async def test_publish_continues_the_seq(
    connect: Connect, owner_token: str, push_stream: Stream
) -> None:
    script = await connect(token=owner_token, origin=None)
    for expected in (1, 2, 3):
        reply = await script.command(
            {
                "type": "publish",
                "stream": "push.alice",
                "samples": [{"values": {"value": expected}}],
            },
            "published",
        )
        assert (reply["first"], reply["last"]) == (expected, expected)


async def test_publish_to_a_stream_with_a_source_is_refused(
    connect: Connect, owner: Any, private_stream: Stream
) -> None:
    alice = await connect(owner)
    error = await error_for(
        alice,
        {"type": "publish", "stream": "sensors.alice", "samples": [{"values": {"temperature": 1}}]},
    )
    assert error["code"] == "not_push_stream"
    assert [row.seq for row in await stored_samples_async(private_stream)] == []


async def test_it_rejects_publishing_to_other_users_push_stream(
    connect: Connect, outsider: Any, push_stream: Stream
) -> None:
    mallory = await connect(outsider)
    error = await error_for(
        mallory, {"type": "publish", "stream": "push.alice", "samples": [{"values": {"value": 6}}]}
    )
    assert error["code"] == "forbidden"
    assert [row.seq for row in await stored_samples_async(push_stream)] == []


@pytest.mark.parametrize(
    ("samples", "code"),
    [
        ([{"values": {"value": 1}}, {"values": {"colour": 2}}], "invalid_field"),
        ([{"values": {"value": 1}}, {"flags": []}], "missing_field"),
        ([{"values": {"value": 1}}, "seven"], "invalid_field"),
        ([{"values": {"value": True}}], "invalid_field"),
    ],
)
async def test_a_bad_batch_is_refused_whole(
    connect: Connect, owner: Any, push_stream: Stream, samples: list[Any], code: str
) -> None:
    alice = await connect(owner)
    error = await error_for(alice, {"type": "publish", "stream": "push.alice", "samples": samples})
    assert error["code"] == code
    assert [row.seq for row in await stored_samples_async(push_stream)] == []


async def test_a_batch_over_the_limit_is_too_large(
    connect: Connect, owner: Any, push_stream: Stream, settings: Any
) -> None:
    settings.PULSEBOARD_MAX_INGEST_BATCH = 3
    alice = await connect(owner)
    samples = [{"values": {"value": i}} for i in range(4)]
    error = await error_for(alice, {"type": "publish", "stream": "push.alice", "samples": samples})
    assert error["code"] == "too_large"
    assert [row.seq for row in await stored_samples_async(push_stream)] == []


async def test_data_frames_are_sent_as_encoded_once(
    connect: Connect, owner: Any, private_stream: Stream
) -> None:
    alice = await connect(owner)
    await subscribe(alice, "sensors.alice")
    samples = await store(private_stream, [1])
    await frame_publish("sensors.alice", samples)
    while True:
        output = await alice.communicator.receive_output(2)
        if '"type":"data"' in output.get("text", ""):
            break
    assert output["text"] == data_frame("sensors.alice", samples)
