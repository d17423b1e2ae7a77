"""A stream shown only as a further series of a chart: the same rule, the same revocations.

Alice's private stream is a series of a chart of a public stream on her board
(shared with Bob, and by a link) and on Bob's (shared with Mallory, and by a
link of his): a share passes on a series stream only when the dashboard's owner
reads it directly, and every change that ends a grant reaches open sockets.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from channels.db import database_sync_to_async
from django.test import Client

from dashboards.models import WidgetSeries
from streams.access import stream_can_read, stream_for_viewer, streams_readable_by
from streams.models import Stream
from tests.streams.access_world import PRIVATE, PUBLIC, World, world_make
from tests.streams.test_access_sockets import (
    READS,
    SUBSCRIBE,
    answer,
    link_revoked,
    owner_changed,
    sees_nothing_more,
    share_removed,
    socket_of,
    widget_deleted,
)
from tests.support.factories import make_stream
from tests.support.samples import store
from tests.support.sockets import Connect, frame_publish

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
async def world() -> World:
    return await database_sync_to_async(world_make)(series=True)


@pytest.mark.parametrize("kind", sorted(READS))
async def test_only_those_the_owner_shared_with_may_watch_a_series(
    connect: Connect, world: World, kind: str
) -> None:
    live = await socket_of(connect, world, kind)
    outcome = await answer(live, SUBSCRIBE, "subscribed")
    assert outcome == ("subscribed" if READS[kind] else "forbidden")


async def test_a_re_shared_series_passes_on_nothing(connect: Connect, world: World) -> None:
    live = await socket_of(connect, world, "anonymous with Bob's link")
    assert await answer(live, SUBSCRIBE, "subscribed") == "forbidden"
    # The chart's own (public) stream is what Bob may pass on.
    public = {"type": "subscribe", "stream": PUBLIC}
    assert await answer(live, public, "subscribed") == "subscribed"


def test_the_rule_counts_series_streams(world_series: World) -> None:
    world = world_series
    stream = Stream.objects.get(slug=PRIVATE)
    assert stream_can_read(stream, world.bob)
    assert not stream_can_read(stream, world.mallory)
    assert PRIVATE in streams_readable_by(world.bob).values_list("slug", flat=True)
    assert PRIVATE not in streams_readable_by(world.mallory).values_list("slug", flat=True)
    assert stream_for_viewer(PRIVATE, None, world.alice_board.pk)[1]
    assert not stream_for_viewer(PRIVATE, None, world.bob_board.pk)[1]


def test_a_shared_page_sends_only_the_series_the_viewer_may_read(world_series: World) -> None:
    world = world_series
    for user, board, expected in (
        (world.bob, world.alice_board, [PRIVATE]),
        (world.mallory, world.bob_board, []),
    ):
        client = Client()
        client.force_login(user)
        page = client.get(f"/d/{board.pk}/").context["page"]
        [chart] = page["widgets"]
        assert [item["stream"] for item in chart["series"]] == expected
        assert (PRIVATE in page["streams"]) == bool(expected)


@pytest.fixture
def world_series(db: None) -> World:
    return world_make(series=True)


def test_a_deactivated_owners_shares_and_links_grant_no_series_stream(world_series: World) -> None:
    world = world_series
    world.alice.is_active = False
    world.alice.save()
    stream = Stream.objects.get(slug=PRIVATE)
    assert not stream_can_read(stream, world.bob)
    assert PRIVATE not in streams_readable_by(world.bob).values_list("slug", flat=True)
    assert not stream_for_viewer(PRIVATE, None, world.alice_board.pk)[1]
    bob = Client()
    bob.force_login(world.bob)
    assert bob.get(f"/api/streams/{PRIVATE}/history").status_code == 404
    # The chart's own stream is public: Bob still reads that one.
    assert bob.get(f"/api/streams/{PUBLIC}/history").status_code == 200


# -- revocation --------------------------------------------------------------------

Change = Callable[[World], None]


def series_removed(world: World) -> None:
    WidgetSeries.objects.filter(widget__dashboard=world.alice_board).delete()


def series_repointed(world: World) -> None:
    other = make_stream("push.alice-other", title="Other", owner=world.alice)
    for series in WidgetSeries.objects.filter(widget__dashboard=world.alice_board):
        series.stream = other
        series.save()


def owner_deactivated(world: World) -> None:
    world.alice.refresh_from_db()
    world.alice.is_active = False
    world.alice.save()


SESSION, LINK = "bob", "anonymous with Alice's link"
REVOCATIONS: list[tuple[Change, tuple[str, ...]]] = [
    (series_removed, (SESSION, LINK)),
    (series_repointed, (SESSION, LINK)),
    (widget_deleted, (SESSION, LINK)),
    (share_removed, (SESSION,)),
    (link_revoked, (LINK,)),
    (owner_changed, (SESSION, LINK)),
]
CASES = [(change, kind) for change, kinds in REVOCATIONS for kind in kinds]


@pytest.mark.parametrize(
    "change,kind", CASES, ids=[f"{change.__name__}-{kind}" for change, kind in CASES]
)
async def test_every_revocation_of_a_series_reaches_open_sockets(
    connect: Connect, world: World, change: Change, kind: str
) -> None:
    live = await socket_of(connect, world, kind)
    assert await answer(live, SUBSCRIBE, "subscribed") == "subscribed"
    await database_sync_to_async(change)(world)
    await sees_nothing_more(live, world)


@pytest.mark.parametrize("kind", [SESSION, LINK])
async def test_a_deactivated_owners_board_stops_the_series_on_open_sockets(
    connect: Connect, world: World, kind: str
) -> None:
    live = await socket_of(connect, world, kind)
    assert await answer(live, SUBSCRIBE, "subscribed") == "subscribed"
    await database_sync_to_async(owner_deactivated)(world)
    told = await live.receive_until("unsubscribed")
    assert [f["stream"] for f in told if f["type"] == "unsubscribed"] == [PRIVATE]
    assert any(f["type"] == "error" and f["code"] == "forbidden" for f in told), told
    # What Alice's device stored before she left is no longer sent.
    await frame_publish(PRIVATE, await store(world.stream, [1, 2]))
    later = await live.roundtrip()
    assert not [f for f in later if f.get("stream") == PRIVATE and f["type"] == "data"]
    assert await answer(live, SUBSCRIBE, "subscribed") == "forbidden"
