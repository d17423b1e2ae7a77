"""What a history answer says about the values in each bucket, however they were stored.

Integers beyond 64 bits stay exact whichever extreme they are, a field missing
from some buckets is null there, text never stops the numbers beside it from
counting, flags are counted per sample in one batch and across batches, and rollup
rows written by older versions (four numbers) still read.
"""

from __future__ import annotations

from typing import Any

import pytest

from streams.history.query import history_buckets
from streams.history.rollups import FLAGS, MINUTE, SECOND, merge_stats
from streams.history.store import history_append
from streams.messages import sample_frame
from streams.models import Rollup, Stream
from tests.support.factories import make_stream

pytestmark = pytest.mark.django_db

START = 1_700_000_000_000 - 1_700_000_000_000 % MINUTE


def stream_make(slug: str, owner: Any) -> Stream:
    return make_stream(
        slug, owner=owner, fields=[{"name": "v", "unit": ""}, {"name": "w", "unit": ""}]
    )


@pytest.fixture
def stream(owner: Any) -> Stream:
    return stream_make("values", owner)


def append(stream: Stream, values: list[dict[str, Any]], *, every: int = 1, first: int = 1) -> None:
    frames = [
        sample_frame(seq, START + every * (seq - 1), v) for seq, v in enumerate(values, first)
    ]
    history_append({stream.pk: frames})


@pytest.mark.parametrize(
    "values,low,high",
    [
        ([5, 2**64], 5, 2**64),  # only the largest is beyond what orjson reads as an int
        ([-(2**63) - 1, 5], -(2**63) - 1, 5),  # only the smallest is
        ([-(2**63) - 1, 2**64 + 1], -(2**63) - 1, 2**64 + 1),
    ],
)
def test_raw_extremes_beyond_64_bits_stay_exact_on_either_side(
    stream: Stream, values: list[int], low: int, high: int
) -> None:
    append(stream, [{"v": value} for value in values])
    answer = history_buckets(stream.pk, START, START + 1000, 2)
    assert answer.tier == "raw"
    assert answer.fields["v"]["min"] == [low] and type(answer.fields["v"]["min"][0]) is int
    assert answer.fields["v"]["max"] == [high] and type(answer.fields["v"]["max"][0]) is int


def test_a_field_missing_from_a_bucket_is_null_there(stream: Stream) -> None:
    append(stream, [{"v": 1.0, "w": 10.0}, {"v": 2.0}], every=SECOND)
    answer = history_buckets(stream.pk, START, START + 2 * SECOND, 2)
    assert answer.count == [1, 1]
    assert answer.fields["w"] == {
        "min": [10.0, None],
        "max": [10.0, None],
        "mean": [10.0, None],
        "first": [10.0, None],
        "last": [10.0, None],
    }
    assert answer.fields["v"]["max"] == [1.0, 2.0]


def test_a_bucket_of_text_alone_has_no_numbers_to_count(stream: Stream) -> None:
    append(stream, [{"label": "a"}, {"label": "b"}, {"v": 3.0}], every=SECOND)
    answer = history_buckets(stream.pk, START, START + 3 * SECOND, 3)
    assert answer.t == [START, START + SECOND, START + 2 * SECOND]
    assert answer.count == [0, 0, 1]
    assert answer.fields["v"]["max"] == [None, None, 3.0]


def test_text_before_a_number_in_a_sample_does_not_hide_the_number(stream: Stream) -> None:
    append(stream, [{"label": "first", "v": 4.0}, {"label": "then", "v": 6.0}], every=100)
    for points in (1, 10, 1000):  # a minute, seconds, raw
        answer = history_buckets(stream.pk, START, START + MINUTE, points)
        assert max(v for v in answer.fields["v"]["max"] if v is not None) == 6.0, answer.tier
        assert min(v for v in answer.fields["v"]["min"] if v is not None) == 4.0, answer.tier
        assert sum(answer.count) == 2, answer.tier


def test_flags_are_counted_per_sample_in_one_batch_and_across_batches(stream: Stream) -> None:
    anomaly = {"v": 1.0}
    frames = [sample_frame(seq, START + 100 * seq, anomaly, ["anomaly"]) for seq in (1, 2)]
    history_append({stream.pk: frames})
    history_append({stream.pk: [sample_frame(3, START + 300, anomaly, ["anomaly"])]})
    for tier in (SECOND, MINUTE):
        rollup = Rollup.objects.get(stream=stream, tier=tier, start=START)
        assert rollup.stats[FLAGS] == {"anomaly": 3}
    for points in (1, 60, 1000):
        answer = history_buckets(stream.pk, START, START + MINUTE, points)
        assert sum(answer.flags["anomaly"]) == 3, answer.tier
    assert history_buckets(stream.pk, START, START + MINUTE, 1).flags == {"anomaly": [3]}


def test_history_reads_only_its_own_streams_rollups(stream: Stream, owner: Any) -> None:
    other = stream_make("other", owner)
    append(stream, [{"v": 1.0}] * 3, every=SECOND)
    append(other, [{"v": 99.0}] * 3, every=SECOND)
    answer = history_buckets(stream.pk, START, START + MINUTE, 1)
    assert answer.tier == "1m"
    assert answer.fields["v"]["max"] == [1.0] and answer.count == [3]


def test_an_older_rollup_row_without_first_and_last_reads_them_as_its_mean(stream: Stream) -> None:
    # Two minutes answered as one bucket: the later minute was written before rows
    # kept first and last, the earlier one after.
    Rollup.objects.create(
        stream=stream, tier=MINUTE, start=START, stats={"v": [1.0, 3.0, 4.0, 2, 1.0, 3.0]}
    )
    Rollup.objects.create(
        stream=stream, tier=MINUTE, start=START + MINUTE, stats={"v": [5.0, 7.0, 12.0, 2]}
    )
    answer = history_buckets(stream.pk, START, START + 2 * MINUTE, 1)
    assert answer.tier == "1m" and answer.bucket_ms == 2 * MINUTE
    assert answer.fields["v"]["first"] == [1.0]
    assert answer.fields["v"]["last"] == [6.0]
    older = history_buckets(stream.pk, START + MINUTE, START + 2 * MINUTE, 1)
    assert older.fields["v"]["first"] == [6.0] and older.fields["v"]["last"] == [6.0]


def test_merging_an_older_row_after_a_newer_one_takes_its_mean_as_last() -> None:
    merged = merge_stats({"v": [5.0, 5.0, 5.0, 1, 5.0, 5.0]}, {"v": [1.0, 3.0, 4.0, 2]})
    assert merged["v"] == [1.0, 5.0, 9.0, 3, 5.0, 2.0]
