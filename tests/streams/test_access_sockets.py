"""Who reaches a private stream over /ws/live/, and how every revocation reaches open sockets."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from channels.db import database_sync_to_async
from django.contrib.sessions.models import Session
from django.test import Client

from dashboards.models import Dashboard, DashboardShare, Widget
from streams.live.protocol import CLOSE_ACCESS_REVOKED, CLOSE_SESSION_ENDED
from streams.models import ApiToken, Stream
from streams.producer.ingest import ingest_samples
from tests.frame_contract import frame_check
from tests.streams.access_world import PRIVATE, World, world_make
from tests.streams.live_client import Live
from tests.support.factories import make_stream
from tests.support.sockets import Connect
from tests.support.web import HOST, ORIGIN

pytestmark = pytest.mark.django_db(transaction=True)

SUBSCRIBE = {"type": "subscribe", "stream": PRIVATE}


@pytest.fixture
async def world() -> World:
    return await database_sync_to_async(world_make)()


async def socket_of(connect: Connect, world: World, kind: str) -> Live:
    """Open a socket as one of the world's viewers."""
    if kind == "alice":
        return await connect(world.alice)
    if kind == "bob":
        return await connect(world.bob)
    if kind == "bob's token":
        return await connect(None, path=f"/ws/live/?token={world.bob_token}")
    if kind == "mallory":
        return await connect(world.mallory)
    if kind == "staff":
        return await connect(world.staff)
    if kind == "outsider":
        return await connect(world.outsider)
    if kind == "carol with Alice's link":
        return await connect(world.carol, path=f"/ws/live/?share={world.alice_link}")
    if kind == "anonymous with Alice's link":
        return await connect(None, path=f"/ws/live/?share={world.alice_link}")
    if kind == "anonymous with Bob's link":
        return await connect(None, path=f"/ws/live/?share={world.bob_link}")
    raise AssertionError(kind)


async def answer(live: Live, command: dict[str, Any], accepted: str) -> str:
    await live.send(command)
    while True:
        frame = await live.receive()
        if frame["type"] in (accepted, "error"):
            return accepted if frame["type"] == accepted else frame["code"]


READS = {
    "alice": True,
    "bob": True,
    "bob's token": True,
    "staff": True,
    "carol with Alice's link": True,
    "anonymous with Alice's link": True,
    "mallory": False,
    "outsider": False,
}


@pytest.mark.parametrize("kind", sorted(READS))
async def test_only_those_the_owner_shared_with_may_watch(
    connect: Connect, world: World, kind: str
) -> None:
    live = await socket_of(connect, world, kind)
    outcome = await answer(live, SUBSCRIBE, "subscribed")
    assert outcome == ("subscribed" if READS[kind] else "forbidden")


async def test_the_link_of_a_re_share_opens_nothing(connect: Connect, world: World) -> None:
    live = await socket_of(connect, world, "anonymous with Bob's link")
    # Bob's board shows only Alice's stream, which Bob may not pass on: nothing to watch.
    assert await answer(live, SUBSCRIBE, "subscribed") == "forbidden"


@pytest.mark.parametrize(
    "kind,command,accepted,expected",
    [
        ("alice", {"type": "stop", "stream": PRIVATE}, "status", "status"),
        ("bob", {"type": "stop", "stream": PRIVATE}, "status", "forbidden"),
        ("staff", {"type": "stop", "stream": PRIVATE}, "status", "status"),
        ("alice", {"type": "publish", "stream": PRIVATE, "samples": [{"values": {"value": 1}}]}, "published", "published"),
        ("staff", {"type": "publish", "stream": PRIVATE, "samples": [{"values": {"value": 1}}]}, "published", "published"),
        ("bob", {"type": "publish", "stream": PRIVATE, "samples": [{"values": {"value": 1}}]}, "published", "forbidden"),
        ("mallory", {"type": "publish", "stream": PRIVATE, "samples": [{"values": {"value": 1}}]}, "published", "forbidden"),
        ("anonymous with Alice's link", {"type": "publish", "stream": PRIVATE, "samples": [{"values": {"value": 1}}]}, "published", "forbidden"),
    ],
)  # fmt: skip
async def test_only_the_owner_and_staff_control_it(
    connect: Connect, world: World, kind: str, command: dict[str, Any], accepted: str, expected: str
) -> None:
    live = await socket_of(connect, world, kind)
    assert await answer(live, command, accepted) == expected


# -- revocation --------------------------------------------------------------------

Change = Callable[[World], None]


def share_removed(world: World) -> None:
    DashboardShare.objects.filter(dashboard=world.alice_board, user=world.bob).delete()


def link_revoked(world: World) -> None:
    board = Dashboard.objects.get(pk=world.alice_board.pk)
    board.link_token = None
    board.save()


def link_replaced(world: World) -> None:
    board = Dashboard.objects.get(pk=world.alice_board.pk)
    board.link_token = Dashboard.new_link_token()
    board.save()


def dashboard_deleted(world: World) -> None:
    Dashboard.objects.filter(pk=world.alice_board.pk).delete()


def widget_deleted(world: World) -> None:
    Widget.objects.filter(dashboard=world.alice_board).delete()


def widget_repointed(world: World) -> None:
    other = make_stream("push.alice-other", title="Other", owner=world.alice)
    for widget in Widget.objects.filter(dashboard=world.alice_board):
        widget.stream = other
        widget.save()


def owner_changed(world: World) -> None:
    stream = Stream.objects.get(slug=PRIVATE)
    stream.owner = world.outsider
    stream.save()


def token_deleted(world: World) -> None:
    ApiToken.objects.filter(user=world.bob).delete()


def user_deactivated(world: World) -> None:
    world.bob.refresh_from_db()
    world.bob.is_active = False
    world.bob.save()


def user_deleted(world: World) -> None:
    type(world.bob).objects.filter(pk=world.bob.pk).delete()


def password_changed(world: World) -> None:
    world.bob.refresh_from_db()
    world.bob.set_password("a new one")
    world.bob.save()


def session_expired(world: World) -> None:
    Session.objects.all().delete()


SESSION, TOKEN = "bob", "bob's token"
LINK_SIGNED_IN, LINK_ANONYMOUS = "carol with Alice's link", "anonymous with Alice's link"
ALL = (SESSION, TOKEN, LINK_SIGNED_IN, LINK_ANONYMOUS)
REVOCATIONS: list[tuple[Change, tuple[str, ...]]] = [
    (share_removed, (SESSION, TOKEN)),
    (link_revoked, (LINK_SIGNED_IN, LINK_ANONYMOUS)),
    (link_replaced, (LINK_SIGNED_IN, LINK_ANONYMOUS)),
    (dashboard_deleted, ALL),
    (widget_deleted, ALL),
    (widget_repointed, ALL),
    (owner_changed, ALL),
    (token_deleted, (TOKEN,)),
    (user_deactivated, (SESSION, TOKEN)),
    (user_deleted, (SESSION, TOKEN)),
    (password_changed, (SESSION, TOKEN)),
]
CASES = [(change, kind) for change, kinds in REVOCATIONS for kind in kinds]


async def sees_nothing_more(live: Live, world: World) -> None:
    """Require the socket to be closed, or to drop the stream and get none of its samples."""
    frames: list[dict[str, Any]] = []
    while not frames or frames[-1]["type"] != "unsubscribed":
        try:
            output = await live.communicator.receive_output(timeout=1)
        except TimeoutError:
            pytest.fail(f"nothing told the socket within a second: {frames}")
        if output["type"] == "websocket.close":
            assert output.get("code") in (CLOSE_SESSION_ENDED, CLOSE_ACCESS_REVOKED), output
            assert not samples_of_the_lost_stream(frames), frames
            return
        frame = json.loads(output["text"])
        frame_check(frame)
        frames.append(frame)
    assert not samples_of_the_lost_stream(frames), frames
    assert any(f["type"] == "error" and f["code"] == "forbidden" for f in frames)
    await database_sync_to_async(push_as_owner)(world)
    later = await live.roundtrip()
    assert not samples_of_the_lost_stream(later), later
    assert await answer(live, SUBSCRIBE, "subscribed") == "forbidden"


def samples_of_the_lost_stream(frames: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [f for f in frames if f["type"] == "data" and f.get("stream") == PRIVATE]


def push_as_owner(world: World) -> None:
    stream = Stream.objects.filter(slug=PRIVATE).first()
    if stream is not None and stream.owner is not None:
        from asgiref.sync import async_to_sync

        async_to_sync(ingest_samples)(
            stream=stream, user=stream.owner, samples=[{"values": {"value": 7}}]
        )


@pytest.mark.parametrize(
    "change,kind", CASES, ids=[f"{change.__name__}-{kind}" for change, kind in CASES]
)
async def test_every_revocation_reaches_open_sockets(
    connect: Connect, world: World, change: Change, kind: str
) -> None:
    live = await socket_of(connect, world, kind)
    assert await answer(live, SUBSCRIBE, "subscribed") == "subscribed"
    await database_sync_to_async(change)(world)
    await sees_nothing_more(live, world)


async def test_a_stream_made_private_leaves_its_public_watchers(
    connect: Connect, world: World
) -> None:
    await database_sync_to_async(Stream.objects.filter(slug=PRIVATE).update)(is_public=True)
    live = await socket_of(connect, world, "outsider")
    assert await answer(live, SUBSCRIBE, "subscribed") == "subscribed"

    def made_private() -> None:
        stream = Stream.objects.get(slug=PRIVATE)
        stream.is_public = False
        stream.save()

    await database_sync_to_async(made_private)()
    await sees_nothing_more(live, world)


async def test_demoted_staff_lose_what_only_staff_could_read(
    connect: Connect, world: World
) -> None:
    live = await socket_of(connect, world, "staff")
    assert await answer(live, SUBSCRIBE, "subscribed") == "subscribed"

    def demoted() -> None:
        world.staff.is_staff = False
        world.staff.save()

    await database_sync_to_async(demoted)()
    await sees_nothing_more(live, world)


async def test_logout_closes_that_session_only(connect: Connect, world: World) -> None:
    browser = Client()
    await database_sync_to_async(browser.force_login)(world.bob)
    cookie = (b"cookie", f"sessionid={browser.cookies['sessionid'].value}".encode())
    from channels.testing import WebsocketCommunicator

    from config.asgi import application

    other = await connect(world.bob)
    live = Live(WebsocketCommunicator(application, "/ws/live/", headers=[HOST, ORIGIN, cookie]))
    live.connected, _ = await live.communicator.connect()
    assert (await live.receive())["type"] == "hello"
    await database_sync_to_async(browser.post)("/accounts/logout/")
    assert await live.closed_with() == CLOSE_SESSION_ENDED
    assert await answer(other, SUBSCRIBE, "subscribed") == "subscribed"
    await live.disconnect()


async def test_an_expired_session_is_caught_by_the_periodic_check(
    connect: Connect, world: World, settings: Any
) -> None:
    settings.PULSEBOARD_ACCESS_RECHECK_SECONDS = 0.2
    live = await socket_of(connect, world, SESSION)
    assert await answer(live, SUBSCRIBE, "subscribed") == "subscribed"
    await database_sync_to_async(session_expired)(world)
    assert await live.closed_with() == CLOSE_SESSION_ENDED


async def test_anonymous_link_holders_are_closed_when_the_link_goes(
    connect: Connect, world: World
) -> None:
    live = await socket_of(connect, world, LINK_ANONYMOUS)
    await database_sync_to_async(link_revoked)(world)
    assert await live.closed_with() == CLOSE_ACCESS_REVOKED
