"""The access rule against a plain model of owners, shares, copies and links (hypothesis).

A board shows a stream as a widget's own stream or as a further series of a
chart (on a host stream that nobody but staff reads): both grant alike.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dashboards.models import Dashboard, DashboardShare, Widget, WidgetSeries
from streams.access import stream_can_read, stream_for_viewer, streams_readable_by
from tests.support.factories import make_stream

pytestmark = pytest.mark.django_db

USERS = 4


@dataclass(frozen=True)
class Plan:
    """A world: who is staff or inactive, who owns which stream, which boards show and share what."""

    staff: tuple[bool, ...]
    active: tuple[bool, ...]
    streams: tuple[tuple[int | None, bool], ...]  # (owner or None, public)
    boards: tuple[
        tuple[int, frozenset[int], frozenset[int], bool, frozenset[int]], ...
    ]  # owner, shows, shared, link, shows as further series


user_index = st.integers(0, USERS - 1)
plans = st.integers(1, 4).flatmap(
    lambda stream_count: st.builds(
        Plan,
        staff=st.tuples(*[st.booleans()] * USERS),
        active=st.tuples(*[st.booleans()] * USERS),
        streams=st.tuples(
            *[st.tuples(st.one_of(st.none(), user_index), st.booleans())] * stream_count
        ),
        boards=st.lists(
            st.tuples(
                user_index,
                st.frozensets(st.integers(0, stream_count - 1)),
                st.frozensets(user_index),
                st.booleans(),
                st.frozensets(st.integers(0, stream_count - 1)),
            ),
            max_size=5,
        ).map(tuple),
    )
)


def reads_directly(plan: Plan, user: int, stream: int) -> bool:
    owner, public = plan.streams[stream]
    return plan.active[user] and (plan.staff[user] or public or owner == user)


def model_reads(plan: Plan, user: int, stream: int) -> bool:
    """The rule in plain words: directly, or on a board shared with you whose owner reads it directly."""
    if not plan.active[user]:
        return False
    return reads_directly(plan, user, stream) or any(
        stream in shows | series and user in shared and reads_directly(plan, owner, stream)
        for owner, shows, shared, _, series in plan.boards
    )


def model_link_reads(plan: Plan, board: int, stream: int) -> bool:
    owner, shows, _, link, series = plan.boards[board]
    return link and stream in shows | series and reads_directly(plan, owner, stream)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(plan=plans)
def test_the_rule_matches_its_plain_model(plan: Plan) -> None:
    with transaction.atomic():
        users = [
            get_user_model().objects.create(
                username=f"u{i}", is_staff=plan.staff[i], is_active=plan.active[i]
            )
            for i in range(USERS)
        ]
        streams = [
            make_stream(
                f"s{i}", owner=users[owner] if owner is not None else None, is_public=public
            )
            for i, (owner, public) in enumerate(plan.streams)
        ]
        host = make_stream("host")
        boards = []
        for index, (owner, shows, shared, link, series) in enumerate(plan.boards):
            board = Dashboard.objects.create(
                owner=users[owner], title=f"b{index}", link_token=f"link-{index}" if link else None
            )
            boards.append(board)
            for stream in shows:
                Widget.objects.create(dashboard=board, kind="stat", stream=streams[stream])
            if series:
                chart = Widget.objects.create(dashboard=board, kind="timeseries", stream=host)
            for stream in series:
                WidgetSeries.objects.create(widget=chart, stream=streams[stream], field="value")
            for user in shared - {owner}:
                DashboardShare.objects.create(dashboard=board, user=users[user])
        for u, user in enumerate(users):
            readable = set(streams_readable_by(user).values_list("slug", flat=True)) - {"host"}
            expected = {f"s{s}" for s in range(len(streams)) if model_reads(plan, u, s)}
            assert readable == expected, f"u{u}"
            for s, stream in enumerate(streams):
                assert stream_can_read(stream, user) == model_reads(plan, u, s)
        for b, board in enumerate(boards):
            for s, stream in enumerate(streams):
                _, allowed = stream_for_viewer(stream.slug, AnonymousUser(), board.pk)
                assert allowed == model_link_reads(plan, b, s), f"b{b} s{s}"
        transaction.set_rollback(True)
