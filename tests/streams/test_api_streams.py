"""GET /api/streams/: the streams a caller may read."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from streams.models import ApiToken, Stream
from tests.support.web import logged_in, token_client

pytestmark = pytest.mark.django_db


def test_it_lists_the_streams_alice_may_read(
    owner: Any,
    private_stream: Stream,
    push_stream: Stream,
    public_sine: Stream,
    mallory_private: Stream,
) -> None:
    response = logged_in(owner).get("/api/streams/")
    assert response.status_code == 200
    slugs = [stream["slug"] for stream in response.json()["streams"]]
    assert slugs == ["push.alice", "sensors.alice", "sine.public"]


def test_it_describes_each_stream(owner: Any, private_stream: Stream) -> None:
    (stream,) = logged_in(owner).get("/api/streams/").json()["streams"]
    assert stream == {
        "slug": "sensors.alice",
        "title": "Alice's sensor",
        "fields": [{"name": "temperature", "unit": "°C", "type": "number"}],
        "source_kind": "sensor",
        "running": False,
        "public": False,
        "owner": "alice",
        "retention_seconds": 7 * 24 * 3600,
    }


def test_it_rejects_other_users_private_streams_from_the_list(
    outsider: Any, private_stream: Stream, push_stream: Stream, mallory_private: Stream
) -> None:
    slugs = [s["slug"] for s in logged_in(outsider).get("/api/streams/").json()["streams"]]
    assert slugs == ["push.alice", "sensors.mallory"]


def test_staff_see_every_stream(
    staff: Any, private_stream: Stream, push_stream: Stream, mallory_private: Stream
) -> None:
    slugs = [s["slug"] for s in logged_in(staff).get("/api/streams/").json()["streams"]]
    assert slugs == ["push.alice", "sensors.alice", "sensors.mallory"]


def test_it_accepts_a_token_header(owner_token: str, private_stream: Stream) -> None:
    response = token_client(owner_token).get("/api/streams/")
    assert response.status_code == 200
    assert [s["slug"] for s in response.json()["streams"]] == ["sensors.alice"]
    assert ApiToken.objects.get().last_used is not None


@pytest.mark.parametrize("token", ["pb_wrong", "", "x" * 300])
def test_it_refuses_a_bad_token_with_json(owner_token: str, token: str) -> None:
    response = token_client(token).get("/api/streams/")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_token"


def test_it_refuses_anonymous_callers_with_json(private_stream: Stream) -> None:
    response = Client().get("/api/streams/")
    assert response.status_code == 401
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"]["code"] == "unauthenticated"


def test_the_list_takes_gets_and_posts_only(owner: Any) -> None:
    assert logged_in(owner).put("/api/streams/").status_code == 405


def test_it_gives_every_field_its_type(owner: Any, push_stream: Stream) -> None:
    (stream,) = logged_in(owner).get("/api/streams/").json()["streams"]
    assert stream["fields"] == [
        {"name": "value", "unit": "", "type": "number"},
        {"name": "label", "unit": "", "type": "text"},
    ]


def test_a_field_stored_without_a_type_is_described_as_a_number(
    owner: Any, private_stream: Stream
) -> None:
    # Rows written around the model (an update) may still lack one.
    Stream.objects.filter(pk=private_stream.pk).update(fields=[{"name": "t", "unit": "K"}])
    (stream,) = logged_in(owner).get("/api/streams/").json()["streams"]
    assert stream["fields"] == [{"name": "t", "unit": "K", "type": "number"}]
