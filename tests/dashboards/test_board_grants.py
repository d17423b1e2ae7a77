"""What a board passes on to those it is shared with and to its link: what its owner reads.

Staff read every stream, so a board of an active staff member grants a private
stream of someone else's — as a widget's own stream or as a further series — and
stops granting it once they are no longer staff.
"""

from __future__ import annotations

from typing import Any

import pytest

from dashboards.access import link_dashboard_id
from dashboards.models import Dashboard, DashboardShare
from streams.access import (
    link_of,
    stream_can_read,
    stream_for_viewer,
    streams_readable_by,
    streams_readable_directly_by,
)
from streams.models import Stream
from tests.streams.access_world import PRIVATE, World, board_make, world_make

pytestmark = pytest.mark.django_db


@pytest.fixture(params=[False, True], ids=["widget", "series"])
def staff_board(request: pytest.FixtureRequest) -> tuple[World, Dashboard]:
    """Olivia (staff) shows Alice's private stream on a board shared with Mallory, and by a link."""
    world = world_make(series=request.param)
    board = board_make(world.staff, "Olivia's board", world.stream, "olivia-link", request.param)
    DashboardShare.objects.create(dashboard=board, user=world.mallory)
    return world, board


def reads(world: World, user: Any) -> bool:
    return PRIVATE in streams_readable_by(user).values_list("slug", flat=True)


def test_an_active_staff_members_board_grants_what_staff_read(
    staff_board: tuple[World, Dashboard],
) -> None:
    world, board = staff_board
    assert stream_can_read(world.stream, world.mallory)
    assert reads(world, world.mallory)
    assert stream_for_viewer(PRIVATE, None, board.pk)[1]


def test_a_demoted_staff_members_board_grants_it_no_more(
    staff_board: tuple[World, Dashboard],
) -> None:
    world, board = staff_board
    world.staff.is_staff = False
    world.staff.save()
    assert not stream_can_read(world.stream, world.mallory)
    assert not reads(world, world.mallory)
    assert not stream_for_viewer(PRIVATE, None, board.pk)[1]


def test_a_link_of_the_longest_length_a_board_holds_opens_it(world_board: Dashboard) -> None:
    world_board.link_token = "L" * 64
    world_board.save()
    assert link_dashboard_id("L" * 64) == world_board.pk
    assert link_of("L" * 64) == world_board.pk
    assert link_dashboard_id("L" * 65) is None


@pytest.fixture
def world_board(db: None) -> Dashboard:
    return world_make().alice_board


def test_what_one_may_put_on_a_board_is_what_one_reads_directly(
    staff_board: tuple[World, Dashboard],
) -> None:
    # Bob is shown Alice's stream on her board, but may not put it on his own.
    world, _ = staff_board
    Stream.objects.get_or_create(
        slug="push.public", defaults={"source_kind": "push", "is_public": True}
    )
    for user, expected in (
        (world.bob, {"push.public"}),
        (world.alice, {"push.alice", "push.public"}),
    ):
        assert set(streams_readable_directly_by(user).values_list("slug", flat=True)) == expected
