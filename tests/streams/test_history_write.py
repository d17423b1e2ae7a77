"""Writing history: every sample stored once, read back as written, rollups equal to raw."""

from __future__ import annotations

import math
from typing import Any

import pytest
from django.db import IntegrityError, connection

from streams.history.rollups import FLAGS, MINUTE, SECOND
from streams.history.samples import history_after
from streams.history.store import history_append
from streams.messages import SampleFrame, sample_frame
from streams.models import Rollup, Sample, SampleBlock, Stream
from tests.support.factories import make_stream
from tests.support.samples import stored_samples

pytestmark = pytest.mark.django_db

START = 1_700_000_000_000 - 1_700_000_000_000 % MINUTE  # a whole minute


@pytest.fixture(autouse=True, params=["rows", "blocks"])
def write_path(request: Any, settings: Any) -> str:
    """Each test runs twice: batches stored as rows, and batches of two or more as blocks."""
    settings.PULSEBOARD_BLOCK_BATCH_SAMPLES = 0 if request.param == "rows" else 2
    return str(request.param)


@pytest.fixture
def stream(owner: Any) -> Stream:
    return make_stream(
        "meter",
        title="Meter",
        owner=owner,
        fields=[{"name": "power", "unit": "W"}, {"name": "phase", "unit": ""}],
    )


def readings(seqs: range, *, every_ms: int = 37) -> list[SampleFrame]:
    """Samples of two fields, one numeric and one text, some with flags, `every_ms` apart."""
    return [
        sample_frame(
            seq,
            START + every_ms * seq,
            {"power": (seq * 7919) % 1000 / 8 - 40, "phase": "ABC"[seq % 3]},
            ["estimated"] if seq % 10 == 0 else [],
        )
        for seq in seqs
    ]


def stored_frames(stream: Stream) -> list[SampleFrame]:
    return history_after(stream.pk, 0, limit=1_000_000)


def raw_aggregates(stream: Stream, width: int) -> dict[int, list[float]]:
    """[min, max, sum, count] of `power` per bucket, from the stored samples themselves."""
    buckets: dict[int, list[float]] = {}
    for _, t, values, _ in stored_samples(stream):
        value = values["power"]
        low, high, total, count = buckets.get(t - t % width, [value, value, 0, 0])
        buckets[t - t % width] = [min(low, value), max(high, value), total + value, count + 1]
    return buckets


def assert_rollups_equal_raw(stream: Stream) -> None:
    for width in (SECOND, MINUTE):
        raw = raw_aggregates(stream, width)
        rollups = dict(
            Rollup.objects.filter(stream=stream, tier=width).values_list("start", "stats")
        )
        assert sorted(rollups) == sorted(raw)
        for start, (low, high, total, count) in raw.items():
            stats = rollups[start]
            # Text fields stay out of the statistics; flags are counted beside them.
            assert [name for name in stats if name != FLAGS] == ["power"]
            assert stats["power"][0] == low
            assert stats["power"][1] == high
            assert stats["power"][2] == pytest.approx(total, rel=1e-12)
            assert stats["power"][3] == count


def test_a_batch_of_several_statements_is_stored_whole_and_in_order(stream: Stream) -> None:
    batch = readings(range(1, 1_204))  # more than two statements' worth of rows
    assert history_append({stream.pk: batch}) == 1_203
    assert len(stored_samples(stream)) == 1_203
    assert stored_frames(stream) == batch
    assert_rollups_equal_raw(stream)


def test_retrying_a_batch_that_was_stored_stores_and_counts_nothing_twice(stream: Stream) -> None:
    batch = readings(range(1, 1_204))
    history_append({stream.pk: batch})
    rollups_before = list(Rollup.objects.order_by("tier", "start").values_list("stats", flat=True))

    assert history_append({stream.pk: batch}) == 0

    assert len(stored_samples(stream)) == 1_203
    after = list(Rollup.objects.order_by("tier", "start").values_list("stats", flat=True))
    assert after == rollups_before


def test_a_retry_with_newer_samples_stores_only_the_new_ones_once(stream: Stream) -> None:
    history_append({stream.pk: readings(range(1, 701))})
    # The producer retries what failed plus what came since: 1–700 again, then 701–1,900.
    assert history_append({stream.pk: readings(range(1, 1_901))}) == 1_200
    assert stored_frames(stream) == readings(range(1, 1_901))
    assert_rollups_equal_raw(stream)


def test_buckets_filled_by_many_batches_hold_every_sample_once(stream: Stream) -> None:
    batch = readings(range(1, 3_001), every_ms=29)  # about 87 s: two minutes, 88 seconds
    for first, last in [(0, 1), (1, 50), (50, 51), (51, 600), (600, 2_999), (2_999, 3_000)]:
        history_append({stream.pk: batch[first:last]})
    assert len(stored_samples(stream)) == 3_000
    assert_rollups_equal_raw(stream)


def test_several_streams_in_one_call_each_get_their_own_rows(stream: Stream, owner: Any) -> None:
    other = make_stream("other", title="Other", owner=owner)
    assert history_append({stream.pk: readings(range(1, 801)), other.pk: readings(range(5, 9))})
    assert stored_frames(stream) == readings(range(1, 801))
    assert stored_frames(other) == readings(range(5, 9))
    assert_rollups_equal_raw(stream)
    assert_rollups_equal_raw(other)


def test_a_batch_that_repeats_a_seq_stores_nothing(stream: Stream) -> None:
    batch = readings(range(1, 601)) + readings(range(600, 601))
    with pytest.raises(IntegrityError):
        history_append({stream.pk: batch})
    assert not stored_samples(stream)
    assert not SampleBlock.objects.exists()
    assert not Rollup.objects.filter(stream=stream).exists()


AWKWARD_TEXT = [
    "tab\there",
    "new\nline",
    "carriage\rreturn",
    "back\\slash \\N \\.",
    "quote \" and ' both",
    "unicode: Ω ≤ 漢字 🌡",
    "",
]


def test_text_values_and_flags_come_back_as_they_were_written(stream: Stream) -> None:
    batch = [
        sample_frame(seq, START + seq, {"power": seq / 3, "phase": text}, [text or "none"])
        for seq, text in enumerate(AWKWARD_TEXT * 80, 1)  # over one statement on SQLite
    ]
    history_append({stream.pk: batch})
    assert stored_frames(stream) == batch


def test_numbers_json_cannot_hold_exactly_in_64_bits_are_kept(stream: Stream) -> None:
    batch = [
        sample_frame(1, START, {"power": 2**70}),
        sample_frame(2, START + 1, {"power": -12.75, "phase": "x"}),
        sample_frame(3, START + 2, {"power": 0.1, "phase": "null"}),
    ]
    history_append({stream.pk: batch})
    assert stored_frames(stream) == batch
    assert stored_frames(stream)[0]["values"]["power"] == 2**70  # an int, not a float


def test_reads_after_a_seq_stop_at_until_and_the_limit_with_every_value_as_written(
    stream: Stream,
) -> None:
    book = {"bids": [[64_999.5, 0.25], [64_999.0, 1.5]], "asks": [[65_000.5, 0.75]]}
    batch = [
        sample_frame(1, START, {"power": 1.2345678901234567, "book": book}, ["estimated"]),
        sample_frame(2, START + 1, {"power": 9_223_372_036_854_775_807}),  # 2**63 - 1
        sample_frame(3, START + 2, {"power": -(2**63)}),
        sample_frame(4, START + 3, {"power": 5e-324, "phase": "1234567890123456789"}),
        sample_frame(5, START + 4, {"power": -0.5}),
    ]
    history_append({stream.pk: batch})
    assert history_after(stream.pk, 0, limit=100) == batch
    assert history_after(stream.pk, 1, until=3, limit=100) == batch[1:3]
    assert history_after(stream.pk, 1, limit=2) == batch[1:3]
    assert history_after(stream.pk, 5, limit=100) == []
    assert history_after(stream.pk, 0, limit=0) == []
    assert [type(frame["values"]["power"]) for frame in history_after(stream.pk, 1, limit=2)] == [
        int,
        int,
    ]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="COPY is the PostgreSQL write path")
@pytest.mark.parametrize("write_path", ["rows"], indirect=True)
def test_postgresql_keeps_values_as_the_json_text_written(stream: Stream) -> None:
    batch = readings(range(1, 2_001))
    batch[0]["values"]["power"] = -0.0
    batch[1]["values"]["power"] = 1e300
    history_append({stream.pk: batch})
    with connection.cursor() as cursor:
        cursor.execute(
            'SELECT json_typeof("values"), json_typeof(flags), count(*)'
            " FROM streams_sample WHERE stream_id = %s GROUP BY 1, 2",
            [stream.pk],
        )
        assert cursor.fetchall() == [("object", "array", 2_000)]
        cursor.execute(
            'SELECT "values" FROM streams_sample WHERE stream_id = %s AND seq <= 2 ORDER BY seq',
            [stream.pk],
        )
        assert [row[0] for row in cursor.fetchall()] == [
            '{"power":-0.0,"phase":"B"}',
            '{"power":1e+300,"phase":"C"}',
        ]
    stored = stored_frames(stream)
    assert stored == batch
    assert math.copysign(1, stored[0]["values"]["power"]) == -1
    assert type(stored[1]["values"]["power"]) is float
    assert [s.values for s in Sample.objects.filter(stream=stream, seq__lte=2)] == [
        batch[0]["values"],
        batch[1]["values"],
    ]
