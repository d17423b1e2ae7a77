"""One small world of owners, shares, re-shares and links around a private push stream.

Alice owns `push.alice` (private) and shows it on her board, shared with Bob and
by a secret link. Bob's own board shows the same stream too — a widget that the
editor would refuse today but that older versions let in — and Bob shares his
board with Mallory and by a link of his own. A share passes on only what its
giver reads directly, so nothing of Alice's stream may reach Mallory or Bob's
link.

With `series=True` the boards show Alice's stream as a further series of a
chart of a public stream instead: the same rule must hold for every series.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dashboards.models import Dashboard, DashboardShare, Widget, WidgetSeries
from streams.models import ApiToken, SourceKind, Stream
from tests.support.factories import make_stream, make_user

PRIVATE = "push.alice"
PUBLIC = "push.public"


@dataclass
class World:
    alice: Any
    bob: Any
    mallory: Any
    carol: Any  # signed in, holds Alice's link
    staff: Any
    outsider: Any
    stream: Stream
    alice_board: Dashboard
    bob_board: Dashboard
    alice_link: str
    bob_link: str
    alice_token: str
    bob_token: str
    mallory_token: str
    staff_token: str


def user_make(name: str, **extra: Any) -> Any:
    return make_user(name, password="pw", **extra)


def board_make(owner: Any, title: str, stream: Stream, link: str, series: bool) -> Dashboard:
    board = Dashboard.objects.create(owner=owner, title=title, link_token=link)
    if not series:
        Widget.objects.create(dashboard=board, kind="stat", stream=stream, config={"fields": []})
        return board
    public = Stream.objects.get_or_create(
        slug=PUBLIC,
        defaults={
            "title": "A public device",
            "source_kind": SourceKind.PUSH,
            "is_public": True,
            "fields": [{"name": "value", "unit": ""}],
        },
    )[0]
    chart = Widget.objects.create(
        dashboard=board, kind="timeseries", stream=public, config={"fields": ["value"]}
    )
    WidgetSeries.objects.create(widget=chart, stream=stream, field="value")
    return board


def world_make(*, series: bool = False) -> World:
    alice, bob, mallory, carol = (user_make(n) for n in ("alice", "bob", "mallory", "carol"))
    staff, outsider = user_make("olivia", is_staff=True), user_make("oscar")
    stream = make_stream(
        PRIVATE, title="Alice's device", owner=alice, fields=[{"name": "value", "unit": ""}]
    )
    alice_board = board_make(alice, "Alice's board", stream, "alice-link-secret", series)
    DashboardShare.objects.create(dashboard=alice_board, user=bob)
    bob_board = board_make(bob, "Bob's copy", stream, "bob-link-secret", series)
    DashboardShare.objects.create(dashboard=bob_board, user=mallory)
    return World(
        alice=alice,
        bob=bob,
        mallory=mallory,
        carol=carol,
        staff=staff,
        outsider=outsider,
        stream=stream,
        alice_board=alice_board,
        bob_board=bob_board,
        alice_link="alice-link-secret",
        bob_link="bob-link-secret",
        alice_token=ApiToken.objects.issue(user=alice)[1],
        bob_token=ApiToken.objects.issue(user=bob)[1],
        mallory_token=ApiToken.objects.issue(user=mallory)[1],
        staff_token=ApiToken.objects.issue(user=staff)[1],
    )
