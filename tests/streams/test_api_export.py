"""GET /api/streams/<slug>/export.csv and export.json: every sample in a range, streamed."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from django.test import Client

from streams.models import Stream
from tests.streams.conftest import EPOCH_MS, logged_in

pytestmark = pytest.mark.django_db(transaction=True)


async def read_streaming(response: Any) -> bytes:
    """Return the body of a streamed response."""
    return b"".join([chunk async for chunk in response.streaming_content])


def export(client: Client, path: str) -> Any:
    """GET a streamed export; return the response and its whole body."""
    response = client.get(path)
    assert response.status_code == 200, response.content
    return response, async_to_sync(read_streaming)(response)


def test_csv_export_streams_every_sample_in_range(owner: Any, lab_stream: Stream) -> None:
    response, body = export(
        logged_in(owner),
        f"/api/streams/{lab_stream.slug}/export.csv?from={EPOCH_MS}&to={EPOCH_MS + 60_000}",
    )
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(body.decode())))
    assert rows[0] == ["seq", "t", "time", "temperature", "label", "flags"]
    assert [int(row[0]) for row in rows[1:]] == list(range(1, 600))
    assert rows[5][-1] == "anomaly" and rows[5][4] == "n5"


def test_json_export_is_valid_json_across_pages(owner: Any, lab_stream: Stream) -> None:
    from streams.http import export as api_history

    api_history.EXPORT_PAGE, saved = 100, api_history.EXPORT_PAGE
    try:
        _, body = export(
            logged_in(owner),
            f"/api/streams/{lab_stream.slug}/export.json?from=0&to={EPOCH_MS + 10**6}",
        )
    finally:
        api_history.EXPORT_PAGE = saved
    document = json.loads(body)
    assert [s["seq"] for s in document["samples"]] == list(range(1, 1201))
    assert document["samples"][4]["flags"] == ["anomaly"]


def test_export_of_an_empty_range_is_still_well_formed(owner: Any, lab_stream: Stream) -> None:
    _, body = export(logged_in(owner), f"/api/streams/{lab_stream.slug}/export.json?from=1&to=2")
    assert json.loads(body)["samples"] == []


def test_export_refuses_unknown_formats_and_outsiders(
    owner: Any, outsider: Any, lab_stream: Stream
) -> None:
    assert logged_in(owner).get(f"/api/streams/{lab_stream.slug}/export.xml").status_code == 404
    assert logged_in(outsider).get(f"/api/streams/{lab_stream.slug}/export.csv").status_code == 404
