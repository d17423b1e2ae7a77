"""GET /api/streams/<slug>/history and the streamed exports."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pytest
from django.test import Client

from streams.contract import sample_frame
from streams.history.store import history_append
from streams.models import SourceKind, Stream

pytestmark = pytest.mark.django_db(transaction=True)

T0 = 1_700_000_000_000


@pytest.fixture
def stream(owner: Any) -> Stream:
    stream = Stream.objects.create(
        slug="lab.private",
        title="Lab",
        source_kind=SourceKind.PUSH,
        owner=owner,
        fields=[
            {"name": "temperature", "unit": "°C"},
            {"name": "label", "unit": "", "type": "text"},
        ],
    )
    frames = [
        sample_frame(
            i,
            T0 + 100 * i,
            {"temperature": 20 + (i % 7), "label": f"n{i}"},
            ["anomaly"] if i == 5 else [],
        )
        for i in range(1, 1201)
    ]
    history_append({stream.pk: frames})
    return stream


def logged_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_it_answers_a_bounded_number_of_buckets(owner: Any, stream: Stream) -> None:
    response = logged_in(owner).get(
        f"/api/streams/{stream.slug}/history?from={T0}&to={T0 + 120_001}&points=100"
    )
    assert response.status_code == 200
    body = response.json()
    assert body["stream"] == "lab.private" and len(body["t"]) <= 101
    assert min(body["fields"]["temperature"]["min"]) == 20
    assert max(body["fields"]["temperature"]["max"]) == 26
    assert sum(body["count"]) == 1200


def test_it_rejects_other_users_streams_and_bad_ranges(
    owner: Any, outsider: Any, stream: Stream
) -> None:
    assert logged_in(outsider).get(f"/api/streams/{stream.slug}/history").status_code == 404
    assert Client().get(f"/api/streams/{stream.slug}/history").status_code == 401
    for query in ("from=10&to=5", "points=0", "points=abc", "from=yesterday"):
        response = logged_in(owner).get(f"/api/streams/{stream.slug}/history?{query}")
        assert response.status_code == 400, query
        assert response.json()["error"]["code"] == "invalid_field"


async def read_streaming(response: Any) -> bytes:
    return b"".join([chunk async for chunk in response.streaming_content])


def export(client: Client, path: str) -> Any:
    from asgiref.sync import async_to_sync

    response = client.get(path)
    assert response.status_code == 200, response.content
    return response, async_to_sync(read_streaming)(response)


def test_csv_export_streams_every_sample_in_range(owner: Any, stream: Stream) -> None:
    response, body = export(
        logged_in(owner), f"/api/streams/{stream.slug}/export.csv?from={T0}&to={T0 + 60_000}"
    )
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(body.decode())))
    assert rows[0] == ["seq", "t", "time", "temperature", "label", "flags"]
    assert [int(row[0]) for row in rows[1:]] == list(range(1, 600))
    assert rows[5][-1] == "anomaly" and rows[5][4] == "n5"


def test_json_export_is_valid_json_across_pages(owner: Any, stream: Stream) -> None:
    from streams.http import export as api_history

    api_history.EXPORT_PAGE, saved = 100, api_history.EXPORT_PAGE
    try:
        _, body = export(
            logged_in(owner), f"/api/streams/{stream.slug}/export.json?from=0&to={T0 + 10**6}"
        )
    finally:
        api_history.EXPORT_PAGE = saved
    document = json.loads(body)
    assert [s["seq"] for s in document["samples"]] == list(range(1, 1201))
    assert document["samples"][4]["flags"] == ["anomaly"]


def test_export_of_an_empty_range_is_still_well_formed(owner: Any, stream: Stream) -> None:
    _, body = export(logged_in(owner), f"/api/streams/{stream.slug}/export.json?from=1&to=2")
    assert json.loads(body)["samples"] == []


def test_export_refuses_unknown_formats_and_outsiders(
    owner: Any, outsider: Any, stream: Stream
) -> None:
    assert logged_in(owner).get(f"/api/streams/{stream.slug}/export.xml").status_code == 404
    assert logged_in(outsider).get(f"/api/streams/{stream.slug}/export.csv").status_code == 404
