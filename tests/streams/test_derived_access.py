"""Derived streams (replays) obey the read rule for as long as they run.

A replay stops when its owner no longer reads the stream it replays directly —
that stream made private, given away or deleted, the owner demoted or
deactivated — by the change events sockets get, with the producers' reconcile
as the net and a check at each read of history beneath both. It is public only
while what it reads is public, and it may not start while its owner does not
read what it reads.
"""

from __future__ import annotations

import asyncio
import functools
import time
from typing import Any, ClassVar

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.core.management import call_command
from django.test import Client

from streams.catalog import StreamRequest, stream_create
from streams.clock import now_ms
from streams.models import AccessVersion, ApiToken, Sample, SourceKind, Stream
from streams.sources import SOURCES, Reading, Source
from streams.sources.base import Text
from tests.streams.test_producer import locked_retry
from tests.support.factories import make_stream, make_user
from tests.support.producers import Clock, MakeProducer, running_in_database
from tests.support.samples import EPOCH_MS, store
from tests.support.sockets import Connect, error_for, subscribe
from tests.support.web import post_json, token_client

pytestmark = pytest.mark.django_db(transaction=True)

FAR = 2**52
STATUS_BY_RULE = {"running": False, "by": "system"}


def replay_settings(source: str, **options: Any) -> dict[str, Any]:
    """Return the settings of a looping replay of `source` from EPOCH_MS on, at 1000×."""
    return {"source": source, "from": EPOCH_MS, "to": FAR, "speed": 1000, "loop": 1} | options


def replay_make(owner: Any, source: str, *, slug: str = "replay.mallory", **fields: Any) -> Stream:
    """Make a running replay of `source` as `owner` would, through the catalog's checks."""
    return stream_create(
        owner=owner,
        request=StreamRequest(
            slug=slug,
            title="A replay",
            source_kind=str(SourceKind.REPLAY),
            source_settings=replay_settings(source),
            **fields,
        ),
    )


def replay_of_record(
    owner: Any, source: str, *, running: bool, slug: str = "replay.mallory"
) -> Stream:
    """Return a replay row as it may stand after its source changed under it (no checks)."""
    return make_stream(
        slug,
        kind=SourceKind.REPLAY,
        title="A replay",
        source_settings=replay_settings(source),
        owner=owner,
        running=running,
    )


def save_as_admin(model: Any, **changes: Any) -> None:
    """Change a row and save it whole, as the admin's change form does."""
    for name, value in changes.items():
        setattr(model, name, value)
    model.save()


@database_sync_to_async
def copied(replay: Stream, field: str) -> list[Any]:
    """Return the values of `field` the replay stream has stored."""
    rows = Sample.objects.filter(stream_id=replay.pk).values_list("values", flat=True)
    return [values.get(field) for values in rows]


@database_sync_to_async
def fresh(stream: Stream) -> Stream:
    return Stream.objects.get(pk=stream.pk)


async def status_of(watcher: str) -> dict[str, Any]:
    """Return the next `stream.status` message the channel gets (other messages passed over)."""
    layer: Any = get_channel_layer()
    while True:
        message = await asyncio.wait_for(layer.receive(watcher), 1)
        if message["type"] == "stream.status":
            return {"running": message["running"], "by": message["by"]}


async def watcher_of(slug: str) -> str:
    layer: Any = get_channel_layer()
    channel = await layer.new_channel()
    await layer.group_add(f"stream.{slug}", channel)
    return str(channel)


async def ticks(producer: Any, clock: Clock, count: int = 5) -> None:
    for _ in range(count):
        await producer.tick()
        clock.advance(20)


@pytest.fixture
def nina(django_user_model: Any) -> Any:
    """A third user, who watches what is public."""
    return make_user("nina")


# -- the reproduction -----------------------------------------------------------


async def test_a_replay_of_a_stream_made_private_stops_at_once_and_copies_nothing_more(
    make_producer: MakeProducer,
    connect: Connect,
    push_stream: Stream,
    owner_token: str,
    outsider: Any,
) -> None:
    alice = token_client(owner_token)

    def push(value: float) -> None:
        body = {"samples": [{"values": {"value": value}}]}
        assert post_json(alice, "/api/streams/push.alice/samples", body).status_code == 201

    for value in (1.0, 2.0, 3.0):
        await locked_retry(functools.partial(push, value))
    mallory_token = await database_sync_to_async(lambda: ApiToken.objects.issue(user=outsider)[1])()
    settings = replay_settings("push.alice", **{"from": now_ms() - 60_000, "speed": 100})
    body = {
        "slug": "replay.mallory",
        "title": "Mine",
        "source_kind": "replay",
        "settings": settings,
    }
    made = await database_sync_to_async(post_json)(
        token_client(mallory_token), "/api/streams/", body
    )
    assert made.status_code == 201
    replay = await database_sync_to_async(Stream.objects.get)(slug="replay.mallory")
    mallory = await connect(outsider)
    await subscribe(mallory, "replay.mallory")

    stop = asyncio.Event()
    producer = make_producer(clock=now_ms)
    running = asyncio.create_task(producer.run(stop))
    try:
        while 3.0 not in values_in((await mallory.receive_until("data", timeout=5))[-1]):
            pass  # mallory's replay copies alice's stream
        # Staff makes alice's stream private in the admin.
        source = await database_sync_to_async(Stream.objects.get)(slug="push.alice")
        began = time.monotonic()
        await locked_retry(lambda: save_as_admin(source, is_public=False))
        status = (await asyncio.wait_for(mallory.receive_until("status"), 1))[-1]
        assert status == {"type": "status", "stream": "replay.mallory"} | STATUS_BY_RULE
        assert time.monotonic() - began < 1

        await locked_retry(lambda: push(999.0))
        await asyncio.sleep(1.5)  # more than one turn of the replay's loop
        assert replay.pk not in producer.runners
    finally:
        stop.set()
        await asyncio.wait_for(running, 5)
    assert 999.0 not in await copied(replay, "value")
    assert await running_in_database(replay) is False


def values_in(frame: dict[str, Any]) -> list[Any]:
    """Return the `value` of every sample in a `data` frame."""
    return [sample["values"].get("value") for sample in frame["samples"]]


# -- the net beneath the events ----------------------------------------------------


async def test_a_source_made_private_without_an_event_is_caught_at_the_next_reconcile(
    make_producer: MakeProducer, public_stream: Stream, outsider: Any
) -> None:
    await store(public_stream, range(1, 4))
    replay = await database_sync_to_async(replay_make)(outsider, "sensors.lab-1")
    watcher = await watcher_of("replay.mallory")
    clock = Clock()
    producer = make_producer(clock=clock)
    await producer.reconcile()
    await ticks(producer, clock)
    assert 20.03 in await copied(replay, "temperature")

    # A bulk UPDATE sends no signal: only the producers' reconcile sees it.
    await database_sync_to_async(Stream.objects.filter(pk=public_stream.pk).update)(is_public=False)
    await producer.reconcile()
    assert await running_in_database(replay) is False
    assert replay.pk not in producer.runners
    assert await status_of(watcher) == STATUS_BY_RULE

    await store(public_stream, [4])
    await ticks(producer, clock)
    assert 20.04 not in await copied(replay, "temperature")


async def test_the_replay_reads_nothing_its_owner_may_not_read_even_before_a_reconcile(
    make_producer: MakeProducer, public_stream: Stream, outsider: Any
) -> None:
    await store(public_stream, range(1, 4))
    replay = await database_sync_to_async(replay_make)(outsider, "sensors.lab-1")
    watcher = await watcher_of("replay.mallory")
    clock = Clock()
    producer = make_producer(clock=clock)
    await producer.reconcile()
    await ticks(producer, clock)
    assert 20.03 in await copied(replay, "temperature")

    await database_sync_to_async(Stream.objects.filter(pk=public_stream.pk).update)(is_public=False)
    await store(public_stream, [4])
    await ticks(producer, clock, 20)  # several loops of the replay, no reconcile
    assert 20.04 not in await copied(replay, "temperature")
    # The refused read stopped it, and said so.
    assert await running_in_database(replay) is False
    assert await status_of(watcher) == STATUS_BY_RULE


# -- public only while what it reads is ---------------------------------------------


@pytest.mark.django_db  # no socket, no producer
def test_the_api_refuses_a_public_replay_of_a_private_stream(
    owner_token: str, private_stream: Stream, public_stream: Stream
) -> None:
    client = token_client(owner_token)
    body = {"slug": "replay.alice", "title": "Mine", "source_kind": "replay", "public": True}
    refused = post_json(
        client, "/api/streams/", body | {"settings": replay_settings("sensors.alice")}
    )
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "invalid_field"
    message = refused.json()["error"]["message"]
    assert message.startswith("public:") and "'sensors.alice' is private" in message
    assert not Stream.objects.filter(slug="replay.alice").exists()

    made = post_json(client, "/api/streams/", body | {"settings": replay_settings("sensors.lab-1")})
    assert made.status_code == 201 and made.json()["public"] is True


@pytest.mark.django_db
def test_the_admin_refuses_a_public_replay_of_a_private_stream(
    admin_client: Client, owner: Any, private_stream: Stream
) -> None:
    form = {
        "slug": "replay.alice",
        "title": "A replay",
        "fields": "[]",
        "owner": owner.pk,
        "is_public": "on",
        "source_kind": "replay",
        "source_settings": '{"source": "sensors.alice", "from": 0, "to": 10}',
        "retention_days": 1,
    }
    response = admin_client.post("/admin/streams/stream/add/", form)
    assert response.status_code == 200
    assert "It may be public only while what it reads is: &#x27;sensors.alice&#x27; is not." in (
        response.content.decode()
    )
    assert not Stream.objects.filter(slug="replay.alice").exists()

    del form["is_public"]
    assert admin_client.post("/admin/streams/stream/add/", form).status_code == 302
    assert Stream.objects.filter(slug="replay.alice", is_public=False).exists()


async def test_a_public_replay_turns_private_with_its_source_and_its_watchers_lose_it(
    connect: Connect, public_stream: Stream, outsider: Any, nina: Any
) -> None:
    replay = await database_sync_to_async(replay_make)(outsider, "sensors.lab-1", is_public=True)
    assert replay.is_public
    viewer = await connect(nina)
    await subscribe(viewer, "replay.mallory")

    await database_sync_to_async(save_as_admin)(public_stream, is_public=False)
    frames = await viewer.receive_until("unsubscribed")
    assert {"type": "unsubscribed", "stream": "replay.mallory", "ref": None} in frames
    after = await fresh(replay)
    assert not after.is_public and not after.running
    assert (await error_for(viewer, {"type": "subscribe", "stream": "replay.mallory"}))[
        "code"
    ] == "forbidden"


async def test_a_public_replay_turns_private_at_the_reconcile_after_a_bulk_update(
    make_producer: MakeProducer, public_stream: Stream, owner: Any
) -> None:
    # alice's own replay of her stream: she still reads it once it is private, so
    # it keeps running, but only as a private stream.
    replay = await database_sync_to_async(replay_make)(
        owner, "sensors.lab-1", slug="replay.alice", is_public=True
    )
    await database_sync_to_async(Stream.objects.filter(pk=public_stream.pk).update)(is_public=False)
    await make_producer().reconcile()
    after = await fresh(replay)
    assert not after.is_public and after.running
    # The replay went private by an update(), which no signal announces: the web
    # processes' sweeps still find the mark, so a message lost on the way is no leak.
    marked = await database_sync_to_async(
        AccessVersion.objects.filter(key="stream.replay.alice").exists
    )()
    assert marked


# -- given away, demoted, deactivated, deleted --------------------------------------


async def test_a_replay_stops_when_its_private_source_is_given_away(
    outsider: Any, owner: Any
) -> None:
    mine = await database_sync_to_async(Stream.objects.create)(
        slug="push.mallory", title="Mine", source_kind=SourceKind.PUSH, owner=outsider
    )
    replay = await database_sync_to_async(replay_make)(outsider, "push.mallory")
    assert await running_in_database(replay) is True
    watcher = await watcher_of("replay.mallory")

    await database_sync_to_async(save_as_admin)(mine, owner=owner)
    assert await running_in_database(replay) is False
    assert await status_of(watcher) == STATUS_BY_RULE


async def test_a_replay_given_to_someone_who_may_not_read_its_source_stops(
    outsider: Any, nina: Any
) -> None:
    await database_sync_to_async(Stream.objects.create)(
        slug="push.mallory", title="Mine", source_kind=SourceKind.PUSH, owner=outsider
    )
    replay = await database_sync_to_async(replay_make)(outsider, "push.mallory")

    await database_sync_to_async(save_as_admin)(replay, owner=nina)
    assert await running_in_database(replay) is False


@pytest.mark.parametrize("change", ["demoted", "deactivated", "source deleted"])
async def test_a_staff_members_replay_of_a_private_stream_stops_when_they_lose_it(
    staff: Any, private_stream: Stream, change: str
) -> None:
    replay = await database_sync_to_async(replay_make)(staff, "sensors.alice")
    assert await running_in_database(replay) is True
    watcher = await watcher_of("replay.mallory")

    if change == "demoted":
        await database_sync_to_async(save_as_admin)(staff, is_staff=False)
    elif change == "deactivated":
        await database_sync_to_async(save_as_admin)(staff, is_active=False)
    else:
        await database_sync_to_async(private_stream.delete)()
    assert await running_in_database(replay) is False
    assert await status_of(watcher) == STATUS_BY_RULE


# -- refused starts ----------------------------------------------------------------


async def test_a_replay_of_a_stream_its_owner_no_longer_reads_may_not_start_over_the_socket(
    make_producer: MakeProducer, connect: Connect, private_stream: Stream, outsider: Any
) -> None:
    replay = await database_sync_to_async(replay_of_record)(
        outsider, "sensors.alice", running=False
    )
    mallory = await connect(outsider)
    error = await error_for(mallory, {"type": "start", "stream": "replay.mallory", "ref": 1})
    assert error["type"] == "error"
    assert await running_in_database(replay) is False
    producer = make_producer()
    await producer.reconcile()
    assert replay.pk not in producer.runners


async def test_a_refused_start_over_the_socket_is_answered_forbidden_with_the_reason(
    connect: Connect, private_stream: Stream, outsider: Any
) -> None:
    await database_sync_to_async(replay_of_record)(outsider, "sensors.alice", running=False)
    mallory = await connect(outsider)
    error = await error_for(mallory, {"type": "start", "stream": "replay.mallory", "ref": 1})
    assert (error["code"], error["ref"]) == ("forbidden", 1)
    assert "'sensors.alice'" in error["message"]


@pytest.mark.django_db
def test_the_admin_start_action_refuses_such_a_replay_and_says_why(
    admin_client: Client, private_stream: Stream, outsider: Any, public_stream: Stream
) -> None:
    replay = replay_of_record(outsider, "sensors.alice", running=False)
    public_stream.running = False
    public_stream.save()
    response = admin_client.post(
        "/admin/streams/stream/",
        {"action": "start_sources", "_selected_action": [replay.pk, public_stream.pk]},
        follow=True,
    )
    page = response.content.decode()
    assert "Started 1 stream(s)." in page
    assert "Not started: &#x27;replay.mallory&#x27; may not start" in page
    assert not Stream.objects.get(pk=replay.pk).running
    assert Stream.objects.get(pk=public_stream.pk).running


@pytest.mark.django_db
def test_the_admin_form_refuses_to_run_such_a_replay(
    admin_client: Client, private_stream: Stream, outsider: Any
) -> None:
    replay = replay_of_record(outsider, "sensors.alice", running=False)
    form = {
        "slug": replay.slug,
        "title": replay.title,
        "fields": "[]",
        "owner": outsider.pk,
        "source_kind": "replay",
        "source_settings": '{"source": "sensors.alice", "from": 0, "to": 10}',
        "running": "on",
        "retention_days": 1,
    }
    response = admin_client.post(f"/admin/streams/stream/{replay.pk}/change/", form)
    assert response.status_code == 200
    assert "which its owner does not read directly: it may not run." in response.content.decode()
    assert not Stream.objects.get(pk=replay.pk).running


# -- the operator's command ------------------------------------------------------------


def test_manage_py_replay_plays_a_private_stream_for_its_owner_but_not_into_anothers(
    private_stream: Stream, outsider: Any
) -> None:
    from tests.support.samples import samples_store

    samples_store(private_stream, range(1, 4))
    window = ["--from", str(EPOCH_MS), "--to", str(EPOCH_MS + 10_000), "--no-wait"]
    call_command("replay", "sensors.alice", *window)
    own = Stream.objects.get(slug="replay.sensors.alice")
    assert own.owner_id == private_stream.owner_id and not own.is_public and own.running

    replay_of_record(outsider, "sensors.lab-1", running=False)
    call_command("replay", "sensors.alice", "--into", "replay.mallory", *window)
    # Pointed at a stream mallory does not read, her replay stops as soon as it is saved.
    assert not Stream.objects.get(slug="replay.mallory").running


# -- the rule read inside the query agrees with the rule --------------------------------


@pytest.mark.parametrize(
    ("reader", "source_public", "reader_owns", "expected"),
    [
        ("user", True, False, True),
        ("user", False, True, True),
        ("user", False, False, False),
        ("staff", False, False, True),
        ("inactive staff", True, False, False),
        ("inactive user", False, True, False),
        ("nobody", False, False, True),
    ],
)
@pytest.mark.django_db
def test_a_derived_reader_reads_exactly_what_its_owner_reads_directly(
    reader: str, source_public: bool, reader_owns: bool, expected: bool
) -> None:
    from streams.access import derived_unread, streams_by_slug
    from streams.producer.derived import DerivedReader
    from tests.support.samples import samples_store

    alice = make_user("alice", password="a")
    owner = None
    if reader != "nobody":
        owner = make_user(
            "reader", password="r", is_staff="staff" in reader, is_active="inactive" not in reader
        )
    source = make_stream(
        "source", title="S", is_public=source_public, owner=owner if reader_owns else alice
    )
    samples_store(source, range(1, 4))
    replay = replay_of_record(owner, "source", running=False)
    read = DerivedReader(replay.pk, ("source",))
    rows = read("source", start=0, end=FAR, after_seq=0, limit=10)
    assert (len(rows) == 3) is expected
    assert (read.refused == []) is expected
    assert (derived_unread(owner, ["source"], streams_by_slug(["source"])) is None) is expected
    assert read("elsewhere", start=0, end=FAR, after_seq=0, limit=10) == []
    assert "elsewhere" in read.refused


# -- a kind that reads another stream gets the rule by saying so ---------------------------


class MirrorSource(Source):
    """A kind that reads the stream named by its `of` setting (and makes nothing)."""

    kind = "mirror"
    fields: ClassVar[list[dict[str, str]]] = []
    stream_settings = ("of",)
    settings_spec = {"of": Text("", max_length=80)}

    def poll(self, now_ms: int) -> list[Reading]:
        return []


async def test_any_kind_whose_settings_name_a_stream_obeys_the_rule(
    monkeypatch: pytest.MonkeyPatch, public_stream: Stream, outsider: Any
) -> None:
    monkeypatch.setitem(SOURCES, "mirror", MirrorSource)
    mirror = await database_sync_to_async(Stream.objects.create)(
        slug="mirror.mallory",
        title="A mirror",
        source_kind="mirror",
        source_settings={"of": "sensors.lab-1"},
        owner=outsider,
        is_public=True,
    )
    await database_sync_to_async(save_as_admin)(public_stream, is_public=False)
    after = await fresh(mirror)
    assert not after.running and not after.is_public
