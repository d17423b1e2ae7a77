"""GET /api/streams/<slug>/export.csv and export.json: every sample in a range, streamed."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from django.test import Client

from streams.models import Stream
from tests.support.factories import make_stream
from tests.support.samples import EPOCH_MS
from tests.support.web import logged_in, post_json, token_client

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


def test_csv_columns_t_and_time_are_the_samples_own_milliseconds(
    owner: Any, lab_stream: Stream
) -> None:
    # lab_stream's seq i is at EPOCH_MS + 100 i: t differs from seq and has milliseconds.
    _, body = export(
        logged_in(owner),
        f"/api/streams/{lab_stream.slug}/export.csv?from={EPOCH_MS}&to={EPOCH_MS + 2_000}",
    )
    rows = list(csv.reader(io.StringIO(body.decode())))[1:]
    assert len(rows) == 19
    for seq, t, time, *_ in rows:
        assert int(t) == EPOCH_MS + 100 * int(seq)
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00", time), time
        since_epoch = datetime.fromisoformat(time) - datetime(1970, 1, 1, tzinfo=UTC)
        assert since_epoch // timedelta(milliseconds=1) == int(t)
    assert rows[2][2] == "2023-11-14T22:13:20.300+00:00"


@pytest.fixture
def formula_stream(owner: Any) -> Stream:
    """A push stream whose field names and text look like spreadsheet formulas."""
    return make_stream(
        "push.formulas",
        title="Formulas",
        owner=owner,
        fields=[
            {"name": "=1+1", "unit": ""},
            {"name": "note", "unit": "", "type": "text"},
            {"name": "level", "unit": ""},
        ],
    )


PUSHED = [
    {"t": EPOCH_MS + 1, "values": {"=1+1": -1.25, "note": '=HYPERLINK("http://x")'}},
    {"t": EPOCH_MS + 2, "values": {"=1+1": -3, "note": "+1 more", "level": 4.5}},
    {"t": EPOCH_MS + 3, "values": {"note": "@SUM(A1)"}, "flags": ["-cmd", "anomaly"]},
    {"t": EPOCH_MS + 4, "values": {"note": "\tTAB", "level": 0}},
    {"t": EPOCH_MS + 5, "values": {"note": "\rCR"}},
    {"t": EPOCH_MS + 6, "values": {"note": "a = b - c"}, "flags": ["anomaly"]},
]


def test_csv_cells_a_spreadsheet_would_run_are_written_as_text(
    owner: Any, owner_token: str, formula_stream: Stream
) -> None:
    pushed = post_json(
        token_client(owner_token), "/api/streams/push.formulas/samples", {"samples": PUSHED}
    )
    assert pushed.status_code == 201, pushed.content
    _, body = export(
        logged_in(owner), f"/api/streams/push.formulas/export.csv?from=0&to={EPOCH_MS + 10}"
    )
    rows = list(csv.reader(io.StringIO(body.decode())))
    assert rows[0] == ["seq", "t", "time", "'=1+1", "note", "level", "flags"]
    cells = [row[3:] for row in rows[1:]]
    assert cells == [
        ["-1.25", '\'=HYPERLINK("http://x")', "", ""],
        ["-3", "'+1 more", "4.5", ""],
        ["", "'@SUM(A1)", "", "'-cmd anomaly"],
        ["", "'\tTAB", "0", ""],
        ["", "'\rCR", "", ""],
        ["", "a = b - c", "", "anomaly"],
    ]


def test_json_export_keeps_formula_like_text_exactly(
    owner: Any, owner_token: str, formula_stream: Stream
) -> None:
    post_json(token_client(owner_token), "/api/streams/push.formulas/samples", {"samples": PUSHED})
    _, body = export(
        logged_in(owner), f"/api/streams/push.formulas/export.json?from=0&to={EPOCH_MS + 10}"
    )
    document = json.loads(body)
    assert [field["name"] for field in document["fields"]] == ["=1+1", "note", "level"]
    assert [s["values"] for s in document["samples"]] == [s["values"] for s in PUSHED]
    assert document["samples"][2]["flags"] == ["-cmd", "anomaly"]
