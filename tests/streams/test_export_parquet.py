"""GET /api/streams/<slug>/export.parquet: the raw range as a plain Parquet file, every value exact."""

from __future__ import annotations

import io
import json
import struct
from typing import Any

import duckdb
import pandas
import polars
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from asgiref.sync import async_to_sync
from django.test import Client

from streams.history.compaction import Cutoffs, stream_compact
from streams.history.store import history_append
from streams.messages import sample_frame
from streams.models import Sample, SampleBlock, Stream
from tests.streams.test_api_export import read_streaming
from tests.support.factories import make_stream
from tests.support.samples import EPOCH_MS
from tests.support.web import logged_in

pytestmark = pytest.mark.django_db(transaction=True)

FIELDS = [
    {"name": "temperature", "unit": "°C"},
    {"name": "state", "unit": "", "type": "text"},
    {"name": "trade", "unit": "", "type": "trade"},
    {"name": "time", "unit": "s"},
]
AWKWARD = [0.1 + 0.2, 5e-324, -0.0, 1e300, -1e-300, 21.37, 1e-05, 1234567890123456.0]


def frames(seqs: range) -> list[Any]:
    """Samples with awkward floats, integers, text, structured values, gaps and flags."""
    out = []
    for seq in seqs:
        values: dict[str, Any] = {"temperature": AWKWARD[seq % len(AWKWARD)]}
        if seq % 4 == 1:
            values["temperature"] = seq  # an integer in a number field
        if seq % 3 == 0:
            values["state"] = f'=s{seq},"quoted"'
        if seq % 10 == 0:
            values["trade"] = {"price": seq / 8, "size": seq, "side": "buy"}
        if seq % 6 == 0:
            values["time"] = seq * 0.5
        flags = ["anomaly", "-cmd"] if seq % 7 == 0 else []
        out.append(sample_frame(seq, EPOCH_MS + 250 * seq + seq % 3, values, flags))
    return out


@pytest.fixture
def mixed_stream(owner: Any) -> Stream:
    """A stream of 400 samples: 1–349 in blocks (one kept as whole values), 350–400 rows."""
    stream = make_stream("push.parquet", owner=owner, fields=FIELDS)
    samples = frames(range(1, 401))
    samples[139] = sample_frame(140, samples[139]["t"], {"state": "b", "temperature": 1.5})
    history_append({stream.pk: samples})
    stream_compact(stream.pk, Cutoffs(hot=EPOCH_MS + 250 * 350, partial=2**62), block_samples=64)
    assert SampleBlock.objects.filter(stream=stream).count() == 6
    assert Sample.objects.filter(stream=stream).count() == 51
    return stream


def get(client: Client, path: str) -> tuple[Any, bytes]:
    """GET a streamed export; return the response and its whole body."""
    response = client.get(path)
    assert response.status_code == 200, response.content
    return response, async_to_sync(read_streaming)(response)


def parquet_of(client: Client, query: str, slug: str = "push.parquet") -> pa.Table:
    response, body = get(client, f"/api/streams/{slug}/export.parquet?{query}")
    assert response["Content-Type"] == "application/vnd.apache.parquet"
    return pq.read_table(io.BytesIO(body))


def json_of(client: Client, query: str, slug: str = "push.parquet") -> dict[str, Any]:
    _, body = get(client, f"/api/streams/{slug}/export.json?{query}")
    return json.loads(body)


def bits(value: Any) -> Any:
    return struct.pack("<d", value) if isinstance(value, float) else value


WHOLE = f"from=0&to={EPOCH_MS + 10**6}"


def test_every_value_comes_back_exactly_from_blocks_and_rows(
    owner: Any, mixed_stream: Stream
) -> None:
    client = logged_in(owner)
    table = parquet_of(client, WHOLE)
    samples = json_of(client, WHOLE)["samples"]

    assert table.column_names == [
        "seq",
        "t",
        "time",
        "temperature",
        "state",
        "trade",
        "field:time",
        "flags",
    ]
    assert table.schema.field("time").type == pa.timestamp("ms", tz="UTC")
    assert table.schema.field("temperature").type == pa.float64()
    assert table.schema.field("temperature").metadata == {
        b"unit": "°C".encode(),
        b"type": b"number",
    }
    assert table.num_rows == len(samples) == 400
    rows = table.to_pylist()
    for row, sample in zip(rows, samples, strict=True):
        values = sample["values"]
        assert (row["seq"], row["t"]) == (sample["seq"], sample["t"])
        assert round(row["time"].timestamp() * 1000) == sample["t"]
        expected = values.get("temperature")
        assert bits(row["temperature"]) == bits(None if expected is None else float(expected))
        assert row["state"] == values.get("state")
        trade = values.get("trade")
        assert (row["trade"] and json.loads(row["trade"])) == trade
        assert bits(row["field:time"]) == bits(values.get("time"))
        assert row["flags"] == sample.get("flags", [])
    assert any(bits(row["temperature"]) == bits(-0.0) for row in rows), "-0.0 stays -0.0"


def test_the_same_parameters_narrow_it_as_they_narrow_json(
    owner: Any, mixed_stream: Stream
) -> None:
    client = logged_in(owner)
    for query in (
        f"from={EPOCH_MS + 250 * 33}&to={EPOCH_MS + 250 * 371}",
        f"{WHOLE}&first_seq=77&last_seq=360",
        f"{WHOLE}&first_seq=390",
        "from=1&to=2",
    ):
        expected = [sample["seq"] for sample in json_of(client, query)["samples"]]
        assert parquet_of(client, query).column("seq").to_pylist() == expected, query


def test_an_empty_range_is_a_file_with_the_columns_and_no_rows(
    owner: Any, mixed_stream: Stream
) -> None:
    table = parquet_of(logged_in(owner), "from=1&to=2")
    assert table.num_rows == 0
    assert table.column_names[-1] == "flags"


def test_it_is_written_a_row_group_at_a_time(
    owner: Any, mixed_stream: Stream, monkeypatch: pytest.MonkeyPatch
) -> None:
    from streams.http import export

    monkeypatch.setattr(export, "PARQUET_ROW_GROUP", 100)
    response = logged_in(owner).get(f"/api/streams/push.parquet/export.parquet?{WHOLE}")

    async def chunks() -> list[bytes]:
        return [chunk async for chunk in response.streaming_content]

    sent = async_to_sync(chunks)()
    metadata = pq.ParquetFile(io.BytesIO(b"".join(sent))).metadata
    assert metadata.num_rows == 400
    # Blocks of 64 gathered past 100: 64 + 64, 64 + 64, then 64 + 29 and the 51 rows.
    assert [metadata.row_group(i).num_rows for i in range(metadata.num_row_groups)] == [
        128,
        128,
        144,
    ]
    assert len(sent) == metadata.num_row_groups + 1, "each row group sent as it is written"


def test_pandas_polars_and_duckdb_read_it_as_it_is(
    owner: Any, mixed_stream: Stream, tmp_path: Any
) -> None:
    _, body = get(logged_in(owner), f"/api/streams/push.parquet/export.parquet?{WHOLE}")
    frame = pandas.read_parquet(io.BytesIO(body))
    assert len(frame) == 400
    assert str(frame["time"].dt.tz) == "UTC"
    assert list(frame["seq"]) == list(range(1, 401))
    polar = polars.read_parquet(io.BytesIO(body))
    states = pq.read_table(io.BytesIO(body)).column("state").to_pylist()
    assert polar.height == 400 and polar["state"].to_list() == states
    assert frame["state"].isna().sum() == states.count(None)
    path = tmp_path / "export.parquet"
    path.write_bytes(body)
    with duckdb.connect() as database:
        [(seqs, flagged)] = database.execute(
            f"SELECT count(*), count(*) FILTER (WHERE len(flags) > 0) FROM '{path}'"
        ).fetchall()
    # Every seventh sample is flagged, but 140, which the fixture replaces without flags.
    assert (seqs, flagged) == (400, len(range(7, 401, 7)) - 1)


def test_unknown_formats_and_bad_parameters_answer_as_for_csv(
    owner: Any, outsider: Any, mixed_stream: Stream
) -> None:
    mine, theirs = logged_in(owner), logged_in(outsider)
    unknown = mine.get("/api/streams/push.parquet/export.arrow")
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (404, "unknown_format")
    hidden = theirs.get("/api/streams/push.parquet/export.parquet")
    assert (hidden.status_code, hidden.json()["error"]["code"]) == (404, "unknown_stream")
    bad = mine.get("/api/streams/push.parquet/export.parquet?first_seq=-1")
    assert (bad.status_code, bad.json()["error"]["code"]) == (400, "invalid_field")
    assert Client().get("/api/streams/push.parquet/export.parquet").status_code == 401


def test_the_openapi_document_declares_it(owner: Any, mixed_stream: Stream) -> None:
    from tests.test_openapi import answer_check

    document = Client().get("/api/schema.json").json()
    path = "/api/streams/{slug}/export.parquet"
    assert [p["name"] for p in document["paths"][path]["get"]["parameters"]][1:] == [
        "from", "to", "first_seq", "last_seq"
    ]  # fmt: skip
    response = logged_in(owner).get(f"/api/streams/push.parquet/export.parquet?{WHOLE}")
    answer_check(document, path, "get", response)
