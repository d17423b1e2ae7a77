"""GET /api/stats: live counts, and per readable stream its rate and last seq."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client

from streams.clock import now_ms
from streams.history.store import history_append
from streams.history.stored import samples_stored
from streams.live.census import stream_activity_reset
from streams.messages import sample_frame
from streams.models import Stream
from tests.support.web import logged_in

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def no_activity_yet() -> Iterator[None]:
    """Start from a process that has stored nothing (stream ids repeat between tests)."""
    stream_activity_reset()
    yield
    stream_activity_reset()


def store(stream: Stream, seqs: range) -> None:
    """Store samples the way the producer and pushes do: write, then tell the listeners."""
    t = now_ms()
    batch = [sample_frame(seq, t - 9000 + seq * 100, {"value": 0}) for seq in seqs]
    history_append({stream.pk: batch})
    samples_stored({stream.pk: batch})


def test_stats_give_each_streams_rate_and_last_seq(
    owner: Any, private_stream: Stream, public_sine: Stream
) -> None:
    store(public_sine, range(1, 31))
    store(private_stream, range(1, 2))
    response = logged_in(owner).get("/api/stats")
    assert response.status_code == 200
    body = response.json()
    assert abs(body["server_time"] - now_ms()) < 5000
    assert body["connections"] == 0
    rows = {row["slug"]: row for row in body["streams"]}
    assert rows["sine.public"] == {
        "slug": "sine.public",
        "running": True,
        "rate": 3.0,
        "last_seq": 30,
        "viewers": {"connections": 0, "users": 0},
    }
    assert (rows["sensors.alice"]["rate"], rows["sensors.alice"]["last_seq"]) == (0.1, 1)


def test_stats_do_not_read_history(
    owner: Any, public_sine: Stream, django_assert_max_num_queries: Any
) -> None:
    store(public_sine, range(1, 31))
    client = logged_in(owner)
    with django_assert_max_num_queries(6) as queries:
        assert client.get("/api/stats").status_code == 200
    assert not [q["sql"] for q in queries.captured_queries if "streams_sample" in q["sql"]]


def test_stats_need_a_login(public_sine: Stream) -> None:
    response = Client().get("/api/stats")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthenticated"


def test_stats_list_only_streams_the_user_may_read(
    outsider: Any, private_stream: Stream, public_sine: Stream
) -> None:
    response = logged_in(outsider).get("/api/stats")
    assert [row["slug"] for row in response.json()["streams"]] == ["sine.public"]
