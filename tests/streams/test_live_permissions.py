"""Who may do what on /ws/live/: owner, shared user, outsider, link holder and staff."""

from __future__ import annotations

from typing import Any

import pytest
from channels.db import database_sync_to_async

from dashboards.models import Dashboard, Widget
from dashboards.services import link_create, link_revoke, share_add, share_remove
from streams.live.protocol import CLOSE_ACCESS_REVOKED
from streams.models import Stream
from tests.streams.live_client import Live
from tests.support.factories import make_stream, make_user
from tests.support.sockets import Connect

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def board(owner: Any, private_stream: Stream) -> dict[str, Any]:
    """Alice's dashboard showing her private sensor and her private push stream."""
    pushed = make_stream(
        "push.alice-private",
        title="Alice's device",
        owner=owner,
        fields=[{"name": "value", "unit": ""}],
    )
    dashboard = Dashboard.objects.create(owner=owner, title="Alice's board")
    for stream in (private_stream, pushed):
        Widget.objects.create(
            dashboard=dashboard, kind="stat", stream=stream, config={"fields": []}
        )
    other = make_stream(
        "sensors.alice-2", kind="sensor", title="Not on the board", owner=owner, fields=[]
    )
    return {"dashboard": dashboard, "sensor": private_stream, "pushed": pushed, "other": other}


@pytest.fixture
def bob(django_user_model: Any) -> Any:
    return make_user("bob")


async def outcome(live: Live, command: dict[str, Any], answer: str) -> str:
    """Return `answer` when the command is accepted, else the error code."""
    await live.send(command)
    while True:
        frame = await live.receive()
        if frame["type"] in (answer, "error"):
            return answer if frame["type"] == answer else frame["code"]


COMMANDS: dict[str, tuple[dict[str, Any], str]] = {
    "watch": ({"type": "subscribe", "stream": "sensors.alice"}, "subscribed"),
    "start": ({"type": "start", "stream": "sensors.alice"}, "status"),
    "publish": (
        {"type": "publish", "stream": "push.alice-private", "samples": [{"values": {"value": 1}}]},
        "published",
    ),
    "watch other": ({"type": "subscribe", "stream": "sensors.alice-2"}, "subscribed"),
}

EXPECTED = {
    "owner": {
        "watch": "subscribed",
        "start": "status",
        "publish": "published",
        "watch other": "subscribed",
    },
    "shared user": {
        "watch": "subscribed",
        "start": "forbidden",
        "publish": "forbidden",
        "watch other": "forbidden",
    },
    "outsider": {
        "watch": "forbidden",
        "start": "forbidden",
        "publish": "forbidden",
        "watch other": "forbidden",
    },
    "link holder": {
        "watch": "subscribed",
        "start": "forbidden",
        "publish": "forbidden",
        "watch other": "forbidden",
    },
    "staff": {
        "watch": "subscribed",
        "start": "status",
        "publish": "published",
        "watch other": "subscribed",
    },
}


@pytest.mark.parametrize("actor", list(EXPECTED))
async def test_permission_matrix(
    actor: str,
    connect: Connect,
    board: dict[str, Any],
    owner: Any,
    bob: Any,
    outsider: Any,
    staff: Any,
) -> None:
    dashboard = board["dashboard"]
    await database_sync_to_async(share_add)(dashboard=dashboard, user=bob)
    token = await database_sync_to_async(link_create)(dashboard=dashboard)
    users = {"owner": owner, "shared user": bob, "outsider": outsider, "staff": staff}
    if actor == "link holder":
        live = await connect(None, path=f"/ws/live/?share={token}")
    else:
        live = await connect(users[actor])
    got = {
        name: await outcome(live, command, answer) for name, (command, answer) in COMMANDS.items()
    }
    assert got == EXPECTED[actor]


async def test_a_wrong_link_secret_is_refused_at_the_handshake(
    connect: Connect, board: dict[str, Any]
) -> None:
    live = await connect(None, path="/ws/live/?share=not-the-secret", hello=False)
    assert not live.connected


async def test_removing_a_share_stops_live_data_at_once(
    connect: Connect, board: dict[str, Any], bob: Any
) -> None:
    dashboard = board["dashboard"]
    await database_sync_to_async(share_add)(dashboard=dashboard, user=bob)
    live = await connect(bob)
    assert await outcome(live, COMMANDS["watch"][0], "subscribed") == "subscribed"
    await database_sync_to_async(share_remove)(dashboard=dashboard, user_id=bob.pk)
    frames = await live.receive_until("unsubscribed")
    assert any(f["type"] == "error" and f["code"] == "forbidden" for f in frames)
    assert await outcome(live, COMMANDS["watch"][0], "subscribed") == "forbidden"


async def test_revoking_the_link_closes_its_sockets(
    connect: Connect, board: dict[str, Any]
) -> None:
    dashboard = board["dashboard"]
    token = await database_sync_to_async(link_create)(dashboard=dashboard)
    live = await connect(None, path=f"/ws/live/?share={token}")
    assert await outcome(live, COMMANDS["watch"][0], "subscribed") == "subscribed"
    await database_sync_to_async(link_revoke)(dashboard=dashboard)
    assert await live.closed_with() == CLOSE_ACCESS_REVOKED
    again = await connect(None, path=f"/ws/live/?share={token}", hello=False)
    assert not again.connected
