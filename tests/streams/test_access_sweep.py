"""The access net under the events: one query a sweep, only changed sockets check again.

Every change of access is an event that reaches the sockets concerned at once
(test_access_sockets.py). These tests make changes that send no event — a
queryset `update()`, which Django's signals never see, an event lost on the way,
a session that simply expires — and require the sweep to find them within its
interval, while sockets whose rights did not change cost the database nothing.
"""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.layers import channel_layers, get_channel_layer
from django.contrib.auth import get_user_model
from django.contrib.sessions.models import Session
from django.db.backends.utils import CursorWrapper
from django.utils import timezone

from dashboards.models import Dashboard, DashboardShare
from streams.fanout.layer import InProcessLayer
from streams.live.access_sweep import access_sweep
from streams.live.protocol import CLOSE_ACCESS_REVOKED, CLOSE_SESSION_ENDED
from streams.models import AccessVersion, Stream
from tests.streams.access_world import PRIVATE, World, world_make
from tests.streams.test_access_sockets import SUBSCRIBE, answer, sees_nothing_more, socket_of
from tests.support.sockets import Connect

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
async def world() -> World:
    return await database_sync_to_async(world_make)()


@pytest.fixture
def queries_made(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Return a list that collects every query made from now on, in any thread."""
    queries: list[str] = []
    execute = CursorWrapper.execute

    def noted(self: CursorWrapper, sql: str, params: Any = None) -> Any:
        queries.append(sql)
        return execute(self, sql, params)

    monkeypatch.setattr(CursorWrapper, "execute", noted)
    return queries


async def subscribed(connect: Connect, world: World, kind: str) -> Any:
    live = await socket_of(connect, world, kind)
    assert await answer(live, SUBSCRIBE, "subscribed") == "subscribed"
    return live


async def test_sockets_whose_rights_did_not_change_cost_no_query(
    connect: Connect, world: World, settings: Any, queries_made: list[str]
) -> None:
    settings.PULSEBOARD_ACCESS_RECHECK_SECONDS = 0.2
    for kind in ("alice", "bob", "bob's token", "staff", "carol with Alice's link"):
        await subscribed(connect, world, kind)
    sweep = access_sweep()
    sweeps, rechecks = sweep.sweeps, sweep.rechecks
    queries_made.clear()
    await asyncio.sleep(1.5)
    queries = list(queries_made)
    swept = sweep.sweeps - sweeps
    assert swept >= 4
    # One query a sweep (give or take the sweep reading as the window opened or closed).
    assert swept - 1 <= len(queries) <= swept + 1, queries
    assert all("UNION ALL" in query for query in queries), queries
    assert sweep.rechecks == rechecks


async def test_staff_taken_away_by_an_update_is_found_by_the_sweep(
    connect: Connect, world: World, settings: Any
) -> None:
    settings.PULSEBOARD_ACCESS_RECHECK_SECONDS = 0.3
    olivia = await subscribed(connect, world, "staff")
    await subscribed(connect, world, "alice")
    rechecks = access_sweep().rechecks
    # A queryset update sends no signal, hence no event.
    await database_sync_to_async(get_user_model().objects.filter(pk=world.staff.pk).update)(
        is_staff=False
    )
    await sees_nothing_more(olivia, world)
    assert access_sweep().rechecks - rechecks == 1  # Alice's socket was left alone


async def test_a_stream_made_private_by_an_update_is_found_by_the_sweep(
    connect: Connect, world: World, settings: Any
) -> None:
    settings.PULSEBOARD_ACCESS_RECHECK_SECONDS = 0.3
    await database_sync_to_async(Stream.objects.filter(slug=PRIVATE).update)(is_public=True)
    oscar = await subscribed(connect, world, "outsider")
    await database_sync_to_async(Stream.objects.filter(slug=PRIVATE).update)(is_public=False)
    await sees_nothing_more(oscar, world)


class LosingLayer(InProcessLayer):
    """The in-process layer, losing every access event on the way (as when Redis restarts)."""

    async def group_send(self, group: str, message: dict[str, Any]) -> None:
        if message["type"] in ("access.changed", "access.revoked", "session.ended"):
            self.lost = getattr(self, "lost", 0) + 1
            return
        await super().group_send(group, message)


@pytest.fixture
def losing_layer(settings: Any) -> LosingLayer:
    settings.CHANNEL_LAYERS = {
        "default": {"BACKEND": "tests.streams.test_access_sweep.LosingLayer", "CONFIG": {}}
    }
    channel_layers.backends.clear()
    layer = get_channel_layer()
    assert isinstance(layer, LosingLayer)
    return layer


async def test_a_lost_event_is_made_good_by_its_version(
    connect: Connect, world: World, settings: Any, losing_layer: LosingLayer
) -> None:
    settings.PULSEBOARD_ACCESS_RECHECK_SECONDS = 0.3
    bob = await subscribed(connect, world, "bob")

    def share_removed() -> None:
        DashboardShare.objects.filter(dashboard=world.alice_board, user=world.bob).delete()

    await database_sync_to_async(share_removed)()
    assert losing_layer.lost == 1
    assert await database_sync_to_async(
        AccessVersion.objects.filter(key=f"user.{world.bob.pk}").exists
    )()
    await sees_nothing_more(bob, world)


async def test_a_session_that_expires_closes_its_socket_then(
    connect: Connect, world: World, settings: Any
) -> None:
    settings.PULSEBOARD_ACCESS_RECHECK_SECONDS = 0.5
    bob = await subscribed(connect, world, "bob")
    expires = timezone.now() + timedelta(seconds=1.2)
    await database_sync_to_async(Session.objects.update)(expire_date=expires)
    assert await bob.closed_with(timeout=4) == CLOSE_SESSION_ENDED
    # Closed when the session ended, not at the sweep that saw it coming.
    assert time.time() >= expires.timestamp()


async def test_a_link_revoked_behind_signals_is_found_by_the_links_own_check(
    connect: Connect, world: World, settings: Any
) -> None:
    settings.PULSEBOARD_ACCESS_GRANT_RECHECK_SECONDS = 0.4
    holder = await subscribed(connect, world, "anonymous with Alice's link")
    await database_sync_to_async(Dashboard.objects.filter(pk=world.alice_board.pk).update)(
        link_token=None
    )
    assert await holder.closed_with(timeout=3) == CLOSE_ACCESS_REVOKED


async def test_sockets_that_connected_together_check_on_their_own_apart(
    connect: Connect, world: World, settings: Any
) -> None:
    settings.PULSEBOARD_ACCESS_GRANT_RECHECK_SECONDS = 100.0
    for _ in range(20):
        await socket_of(connect, world, "anonymous with Alice's link")
    loop = asyncio.get_running_loop()
    timers = [getattr(socket, "own_net_timer", None) for socket in access_sweep().sockets]
    due = sorted(timer.when() - loop.time() for timer in timers if timer is not None)
    assert len(due) == 20
    # Spread over the middle of the interval: no moment when they all check.
    assert due[0] >= 45 and due[-1] <= 150
    assert due[-1] - due[0] >= 40, due
