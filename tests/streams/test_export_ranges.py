"""Exports hold exactly the asked range of exactly one stream, in both formats.

The range starts at the first sample at or after `from`, not one before it;
`first_seq` and `last_seq` narrow CSV as they narrow JSON; another stream's
samples at the same times never appear; the JSON document names its stream,
range and fields, and each sample its seq, t and values.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pytest
from asgiref.sync import async_to_sync

from streams.history.store import history_append
from streams.messages import sample_frame
from streams.models import Stream
from tests.streams.test_api_export import read_streaming
from tests.support.factories import make_stream
from tests.support.samples import EPOCH_MS
from tests.support.web import logged_in

pytestmark = pytest.mark.django_db(transaction=True)


def body_of(user: Any, path: str) -> str:
    response = logged_in(user).get(path)
    assert response.status_code == 200, response.content
    return async_to_sync(read_streaming)(response).decode()


def csv_rows(user: Any, path: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(body_of(user, path))))[1:]


def test_a_range_from_mid_stream_starts_at_its_first_sample(owner: Any, lab_stream: Stream) -> None:
    # lab_stream's seq i is at EPOCH_MS + 100 i.
    query = f"from={EPOCH_MS + 500}&to={EPOCH_MS + 1_000}"
    document = json.loads(body_of(owner, f"/api/streams/lab.private/export.json?{query}"))
    assert [s["seq"] for s in document["samples"]] == [5, 6, 7, 8, 9]
    rows = csv_rows(owner, f"/api/streams/lab.private/export.csv?{query}")
    assert [int(row[0]) for row in rows] == [5, 6, 7, 8, 9]


def test_csv_is_narrowed_by_first_and_last_seq_as_json_is(owner: Any, lab_stream: Stream) -> None:
    query = f"from=0&to={EPOCH_MS + 10**6}&first_seq=10&last_seq=12"
    rows = csv_rows(owner, f"/api/streams/lab.private/export.csv?{query}")
    assert [int(row[0]) for row in rows] == [10, 11, 12]
    document = json.loads(body_of(owner, f"/api/streams/lab.private/export.json?{query}"))
    assert [s["seq"] for s in document["samples"]] == [10, 11, 12]


def test_another_streams_samples_at_the_same_times_are_not_exported(
    owner: Any, lab_stream: Stream
) -> None:
    other = make_stream("lab.other", title="Other lab", owner=owner, fields=lab_stream.fields)
    history_append(
        {other.pk: [sample_frame(i, EPOCH_MS + 100 * i, {"temperature": 99}) for i in (1, 2, 3)]}
    )
    query = f"from={EPOCH_MS}&to={EPOCH_MS + 400}"
    document = json.loads(body_of(owner, f"/api/streams/lab.private/export.json?{query}"))
    assert [s["values"]["temperature"] for s in document["samples"]] == [21, 22, 23]
    rows = csv_rows(owner, f"/api/streams/lab.other/export.csv?{query}")
    assert [row[3] for row in rows] == ["99", "99", "99"]


def test_the_json_document_names_its_stream_range_and_each_samples_time(
    owner: Any, lab_stream: Stream
) -> None:
    query = f"from={EPOCH_MS}&to={EPOCH_MS + 300}"
    document = json.loads(body_of(owner, f"/api/streams/lab.private/export.json?{query}"))
    assert document == {
        "stream": "lab.private",
        "from": EPOCH_MS,
        "to": EPOCH_MS + 300,
        "fields": lab_stream.fields,
        "samples": [
            {"seq": 1, "t": EPOCH_MS + 100, "values": {"temperature": 21, "label": "n1"}},
            {"seq": 2, "t": EPOCH_MS + 200, "values": {"temperature": 22, "label": "n2"}},
        ],
    }


def test_a_list_or_object_stored_before_fields_had_types_is_written_as_json(
    owner: Any, lab_stream: Stream
) -> None:
    history_append(
        {
            lab_stream.pk: [
                sample_frame(1201, EPOCH_MS + 200_000, {"temperature": [1, 2], "label": {"a": 1}})
            ]
        }
    )
    query = f"from={EPOCH_MS + 200_000}&to={EPOCH_MS + 200_001}"
    [row] = csv_rows(owner, f"/api/streams/lab.private/export.csv?{query}")
    assert row[3:5] == ["[1,2]", '{"a":1}']
