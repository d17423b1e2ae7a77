"""The CSV export writes a block's samples column-wise, byte for byte as it writes them one by one.

`csv_table` (whole Arrow columns) against `csv_rows` (a sample at a time, the
path rows take) over any float, any text, 64-bit integers, true/false, JSON
values, absent fields, flags and times from year 1 to 9999; and the reader's
columnar walk (`samples_parts`) against its page walk where rows and blocks
interleave.
"""

from __future__ import annotations

import csv
import io
import math
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from streams.history.codec import StoredSample, block_encode, block_samples, block_table
from streams.history.compaction import Cutoffs, stream_compact
from streams.history.reader import samples_pages, samples_parts
from streams.history.store import history_append
from streams.http.export import csv_rows, csv_table
from streams.messages import sample_frame
from streams.models import Sample, SampleBlock, Stream
from tests.support.samples import EPOCH_MS

NAMES = ["x", "label", "count", "ok", "trade", "never"]
FIRST_T = -62_135_596_800_000 + 86_400_000  # 0001-01-02
LAST_T = 253_402_300_799_999 - 86_400_000  # 9999-12-30


def rows_written(samples: list[StoredSample], names: list[str]) -> bytes:
    """Return samples as the row path writes them."""
    buffer = io.StringIO()
    csv_rows(csv.writer(buffer), samples, names)
    return buffer.getvalue().encode()


floats = st.floats(allow_nan=True, allow_infinity=True).map(
    lambda value: math.nan if math.isnan(value) else value
)
texts = st.one_of(
    st.text(st.characters(codec="utf-8"), max_size=10),
    st.sampled_from(["", "=1+1", "+x", "-", "@a", "\tt", "\rr", 'a"b', "a,b", "a\nb", "'"]),
)
json_values = st.recursive(
    st.one_of(floats, st.integers(-(2**63), 2**63 - 1), texts, st.booleans(), st.none()),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner),
    max_leaves=5,
)
values = st.fixed_dictionaries(
    {},
    optional={
        "x": floats,
        "label": texts,
        "count": st.integers(-(2**63), 2**63 - 1),
        "ok": st.booleans(),
        "trade": json_values,
    },
)
flags = st.lists(st.sampled_from(["anomaly", "-cmd", "a,b", 'q"', "=x"]), max_size=2)


@st.composite
def blocks(draw: Any) -> list[StoredSample]:
    count = draw(st.integers(1, 40))
    times = draw(st.lists(st.integers(FIRST_T, LAST_T), min_size=count, max_size=count))
    return [
        (seq, t, draw(values), draw(flags))
        for seq, t in zip(range(1, count + 1), times, strict=True)
    ]


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(samples=blocks(), cut=st.integers(0, 5))
def test_a_block_is_written_column_wise_as_sample_by_sample(
    samples: list[StoredSample], cut: int
) -> None:
    table = block_table(block_encode(samples)).slice(min(cut, len(samples) - 1))
    assert csv_table(table, NAMES) == rows_written(block_samples(table), NAMES)


@settings(max_examples=300, deadline=None)
@given(numbers=st.lists(floats, min_size=1, max_size=50))
def test_any_float_is_written_as_python_writes_it(numbers: list[float]) -> None:
    samples: list[StoredSample] = [
        (seq, EPOCH_MS + seq, {"x": x}, []) for seq, x in enumerate(numbers, 1)
    ]
    table = block_table(block_encode(samples))
    assert csv_table(table, ["x"]) == rows_written(samples, ["x"])


def test_floats_arrow_writes_otherwise_are_written_as_repr() -> None:
    numbers = [1e-05, 1.5e-07, 1e15, 1234567890123456.0, 123456789012.5, 100.0, -0.0, 0.0]
    numbers += [math.nan, math.inf, -math.inf, 1e16, 1e-10, 0.1, 2.5]
    samples: list[StoredSample] = [
        (seq, EPOCH_MS + seq, {"x": x}, []) for seq, x in enumerate(numbers, 1)
    ]
    lines = csv_table(block_table(block_encode(samples)), ["x"]).decode().splitlines()
    assert [line.split(",")[3] for line in lines] == [repr(x) for x in numbers]


def test_times_past_2242_are_written_as_iso_writes_them() -> None:
    # iso(t) divides by 1000 in floating point: in 9999 it writes the millisecond before.
    samples: list[StoredSample] = [(1, 253_402_300_799_123, {}, []), (2, EPOCH_MS + 123, {}, [])]
    lines = csv_table(block_table(block_encode(samples)), []).decode().splitlines()
    assert lines[0].split(",")[2] == "9999-12-31T23:59:59.122+00:00"
    assert lines[1].split(",")[2] == "2023-11-14T22:13:20.123+00:00"


MIXED_FIELDS = [
    {"name": "x", "unit": ""},
    {"name": "label", "unit": "", "type": "text"},
    {"name": "=1+1", "unit": ""},
]


def mixed_frames(seqs: range) -> list[Any]:
    """Samples with awkward floats, formula-like text, fields in two orders and flags."""
    awkward = [0.1, 1e-05, -0.0, 1e16, 1234567890123456.0, 21.37, 5e-324, 100.0]
    frames = []
    for seq in seqs:
        values: dict[str, Any] = {"x": awkward[seq % len(awkward)], "label": f'=n{seq},"q"'}
        if 130 <= seq < 135:  # another order: their block keeps each sample's values whole
            values = {"label": "-late", "x": seq / 7}
        if seq % 3 == 0:
            values["=1+1"] = seq
        frames.append(
            sample_frame(seq, EPOCH_MS + 250 * seq, values, ["-cmd"] if seq % 4 == 0 else [])
        )
    return frames


@pytest.mark.django_db(transaction=True)
def test_a_compacted_stream_exports_the_csv_it_exported_as_rows(owner: Any) -> None:
    from asgiref.sync import async_to_sync

    from tests.streams.test_api_export import read_streaming
    from tests.support.factories import make_stream
    from tests.support.web import logged_in

    stream = make_stream("push.mixed", owner=owner, fields=MIXED_FIELDS)
    history_append({stream.pk: mixed_frames(range(1, 401))})
    client = logged_in(owner)

    def body(query: str) -> bytes:
        response = client.get(f"/api/streams/push.mixed/export.csv?{query}")
        assert response.status_code == 200
        return async_to_sync(read_streaming)(response)

    queries = [
        f"from=0&to={EPOCH_MS + 10**6}",
        f"from={EPOCH_MS + 250 * 33}&to={EPOCH_MS + 250 * 371}",
        f"from=0&to={EPOCH_MS + 10**6}&first_seq=77&last_seq=299",
    ]
    before = [body(query) for query in queries]
    stream_compact(stream.pk, Cutoffs(hot=EPOCH_MS + 250 * 350, partial=2**62), block_samples=64)
    assert SampleBlock.objects.filter(stream=stream).count() == 6
    assert Sample.objects.filter(stream=stream).count() == 51
    assert [body(query) for query in queries] == before
    assert before[0].count(b"\r\n") == 401


# -- the reader's columnar walk --------------------------------------------------

EVERYTHING = Cutoffs(hot=2**62, partial=2**62)
FULL_BLOCKS = Cutoffs(hot=2**62, partial=0)  # a run shorter than a block stays rows


def flattened(parts: Any) -> list[StoredSample]:
    out: list[StoredSample] = []
    for part in parts:
        out += part if isinstance(part, list) else block_samples(part)
    return out


def both_walks(stream: Stream, **bounds: Any) -> tuple[list[Any], list[Any]]:
    pages = [sample for page in samples_pages(stream.pk, page=7, **bounds) for sample in page]
    return pages, flattened(samples_parts(stream.pk, page=7, **bounds))


@pytest.mark.django_db
def test_the_columnar_walk_reads_what_the_page_walk_reads(private_stream: Stream) -> None:
    frames = [
        sample_frame(
            seq, EPOCH_MS + 1000 * seq, {"value": seq / 10}, ["anomaly"] if seq % 9 == 0 else []
        )
        for seq in range(1, 121)
    ]
    history_append({private_stream.pk: frames})
    stream_compact(private_stream.pk, FULL_BLOCKS, block_samples=25)  # 1–100 in blocks
    assert SampleBlock.objects.filter(stream=private_stream).count() == 4
    for bounds in (
        {},
        {"after_seq": 30, "until_seq": 111},
        {"start": EPOCH_MS + 12_500, "end": EPOCH_MS + 103_000},
        {"after_seq": 99},
        {"until_seq": 3},
    ):
        pages, parts = both_walks(private_stream, **bounds)
        assert parts == pages, bounds
        assert [seq for seq, *_ in parts] == sorted({seq for seq, *_ in parts})


@pytest.mark.django_db
def test_rows_inside_a_block_come_in_seq_order_and_a_doubled_seq_once(
    private_stream: Stream,
) -> None:
    frames = [
        sample_frame(seq, EPOCH_MS + seq, {"value": seq}) for seq in range(1, 61) if seq != 20
    ]
    history_append({private_stream.pk: frames})
    stream_compact(private_stream.pk, EVERYTHING, block_samples=100)  # 1–59 but 20 in a block
    # A row the block skips (an import's) and a row the block holds (moved meanwhile).
    Sample.objects.create(stream=private_stream, seq=20, t=EPOCH_MS + 20, values={"value": -20})
    Sample.objects.create(stream=private_stream, seq=33, t=EPOCH_MS + 33, values={"value": 33})

    parts = list(samples_parts(private_stream.pk, page=1000))

    assert [seq for seq, *_ in flattened(parts)] == list(range(1, 61))
    assert [len(part) if isinstance(part, list) else part.num_rows for part in parts] == [
        19,
        1,
        39,
        1,
    ]
    assert flattened(parts)[19][2] == {"value": -20}
