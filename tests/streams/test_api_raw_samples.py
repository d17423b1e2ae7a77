"""GET /api/streams/<slug>/samples: stored samples with every field, paged by seq."""

from __future__ import annotations

import json
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from django.test import Client

from streams.history.store import history_append
from streams.messages import sample_frame
from streams.models import Stream
from tests.streams.access_world import World, world_make
from tests.streams.test_api_export import read_streaming
from tests.support.factories import make_stream
from tests.support.samples import EPOCH_MS
from tests.support.web import logged_in

pytestmark = pytest.mark.django_db

URL = "/api/streams/{slug}/samples"


@pytest.fixture
def world() -> World:
    return world_make()


@pytest.fixture
def market(owner: Any) -> Stream:
    stream = make_stream(
        "market.test",
        title="Market",
        owner=owner,
        fields=[{"name": "price", "unit": ""}, {"name": "trade", "unit": ""}],
    )
    book = {"bids": [[99.5, 2]], "asks": [[100.5, 1]]}
    frames = [
        sample_frame(
            i,
            EPOCH_MS + 10 * i,
            {"price": 100 + i, "trade": {"price": 100 + i, "size": i, "side": "buy"}, "book": book},
        )
        for i in range(1, 31)
    ]
    history_append({stream.pk: frames})
    return stream


def read(client: Client, slug: str, **query: Any) -> Any:
    response = client.get(URL.format(slug=slug), query)
    assert response.status_code == 200, response.content
    return response.json()


def test_it_pages_every_sample_of_a_range_with_every_field(owner: Any, lab_stream: Stream) -> None:
    client = logged_in(owner)
    seen: list[dict[str, Any]] = []
    after = 0
    while True:
        page = read(
            client,
            lab_stream.slug,
            **{"from": EPOCH_MS, "to": EPOCH_MS + 60_000},
            limit=250,
            after_seq=after,
        )
        seen.extend(page["samples"])
        if page["next_after_seq"] is None:
            break
        after = page["next_after_seq"]
    # [EPOCH_MS, +60 s) at 100 ms: seqs 1..599, every one once, in order.
    assert [s["seq"] for s in seen] == list(range(1, 600))
    assert seen[4] == {
        "seq": 5,
        "t": EPOCH_MS + 500,
        "values": {"temperature": 25, "label": "n5"},
        "flags": ["anomaly"],
    }
    assert page["raw_from"] == EPOCH_MS + 100


def test_it_returns_structured_fields_as_stored(owner: Any, market: Stream) -> None:
    page = read(logged_in(owner), market.slug, **{"from": 0, "to": EPOCH_MS + 10**6})
    assert len(page["samples"]) == 30
    last = page["samples"][-1]["values"]
    assert last["trade"] == {"price": 130, "size": 30, "side": "buy"}
    assert last["book"] == {"bids": [[99.5, 2]], "asks": [[100.5, 1]]}


def test_before_seq_reads_the_newest_page_of_a_range(owner: Any, lab_stream: Stream) -> None:
    page = read(
        logged_in(owner),
        lab_stream.slug,
        **{"from": EPOCH_MS, "to": EPOCH_MS + 60_000},
        before_seq=2**62,
        limit=10,
    )
    assert [s["seq"] for s in page["samples"]] == list(range(590, 600))
    assert page["next_before_seq"] == 590


def test_it_rejects_other_users_streams_and_bad_parameters(
    outsider: Any, owner: Any, lab_stream: Stream
) -> None:
    assert logged_in(outsider).get(URL.format(slug=lab_stream.slug)).status_code == 404
    assert Client().get(URL.format(slug=lab_stream.slug)).status_code == 401
    response = logged_in(owner).get(URL.format(slug=lab_stream.slug), {"limit": "0"})
    assert response.status_code == 400


def test_a_link_holder_reads_what_the_link_shows_and_nothing_else(world: World) -> None:
    history_append({world.stream.pk: [sample_frame(1, EPOCH_MS, {"value": 7})]})
    anonymous = Client()
    query = {"from": 0, "to": EPOCH_MS + 1000}
    url = URL.format(slug=world.stream.slug)
    shown = anonymous.get(url, {**query, "share": world.alice_link})
    assert shown.status_code == 200
    assert shown.json()["samples"][0]["values"] == {"value": 7}
    # Bob's link may not pass on what Alice shared with him; a wrong token reads nothing.
    assert anonymous.get(url, {**query, "share": world.bob_link}).status_code == 404
    assert anonymous.get(url, {**query, "share": "no-such-link"}).status_code == 404
    history = f"/api/streams/{world.stream.slug}/history"
    assert anonymous.get(history, {**query, "share": world.alice_link}).status_code == 200
    assert anonymous.get(history, {**query, "share": world.bob_link}).status_code == 404


@pytest.mark.django_db(transaction=True)  # a push goes through database_sync_to_async
def test_an_export_by_seq_has_exactly_those_samples(owner: Any, lab_stream: Stream) -> None:
    response = logged_in(owner).get(
        f"/api/streams/{lab_stream.slug}/export.json",
        {"from": 0, "to": EPOCH_MS + 10**6, "first_seq": 101, "last_seq": 150},
    )
    body = async_to_sync(read_streaming)(response)
    assert [s["seq"] for s in json.loads(body)["samples"]] == list(range(101, 151))
