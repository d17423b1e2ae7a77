"""History in bounded buckets: every extreme survives, and the tiers agree with raw samples."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from streams.history.query import bucket_width, history_buckets, history_tier
from streams.history.rollups import MINUTE, SECOND
from streams.history.store import history_append
from streams.messages import sample_frame
from streams.models import Rollup, Sample, Stream
from tests.support.factories import make_stream

pytestmark = pytest.mark.django_db

START = 1_700_000_000_000 - 1_700_000_000_000 % MINUTE  # a whole minute


@pytest.fixture
def stream(owner: Any) -> Stream:
    return make_stream("wave", title="Wave", owner=owner, fields=[{"name": "v", "unit": ""}])


def store(stream: Stream, points: list[tuple[int, float]]) -> None:
    Sample.objects.filter(stream=stream).delete()
    Rollup.objects.filter(stream=stream).delete()
    frames = [sample_frame(seq, t, {"v": value}) for seq, (t, value) in enumerate(points, 1)]
    history_append({stream.pk: frames})


def test_it_picks_the_coarsest_tier_that_still_fills_the_points() -> None:
    assert history_tier(86_400_000, 1000) == MINUTE
    assert history_tier(3_600_000, 1000) == SECOND
    assert history_tier(60_000, 1000) == 1
    assert history_tier(60_000, 50) == SECOND


def test_a_tier_never_reads_more_rows_than_the_cap() -> None:
    # A minute of a 20 kHz stream is 1.2 million raw rows: seconds answer instead.
    assert history_tier(60_000, 1000, raw_rows=1_200_000, max_rows=200_000) == SECOND
    assert history_tier(60_000, 1000, raw_rows=60_000, max_rows=200_000) == 1
    # Ten days of seconds is 864,000 rows: minutes answer, with fewer buckets than asked.
    assert history_tier(864_000_000, 100_000, max_rows=200_000) == MINUTE


def test_a_short_window_of_a_fast_stream_is_answered_from_seconds(
    stream: Stream, settings: Any
) -> None:
    settings.PULSEBOARD_HISTORY_MAX_ROWS = 1000
    store(stream, [(START + i, float(i % 7)) for i in range(3000)])
    answer = history_buckets(stream.pk, START, START + 3000, 1000)
    assert answer.tier == "1s"
    assert answer.fields["v"]["max"] == [6.0, 6.0, 6.0]
    settings.PULSEBOARD_HISTORY_MAX_ROWS = 5000
    assert history_buckets(stream.pk, START, START + 3000, 1000).tier == "raw"


def test_bucket_width_is_a_whole_number_of_tier_buckets() -> None:
    assert bucket_width(86_400_000, 1000, MINUTE) == 120_000
    assert bucket_width(3_600_000, 1000, SECOND) == 4_000
    assert bucket_width(60_000, 1000, 1) == 60


series = st.lists(
    st.tuples(st.integers(0, 299_999), st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)),
    min_size=1,
    max_size=300,
).map(lambda items: sorted({START + t: v for t, v in items}.items()))


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(points=series, wanted=st.integers(1, 400))
def test_every_extreme_survives_and_the_answer_stays_small(
    stream: Stream, points: list[tuple[int, float]], wanted: int
) -> None:
    store(stream, points)
    answer = history_buckets(stream.pk, START, START + 300_000, wanted)
    assert len(answer.t) <= wanted + 1
    values = [v for _, v in points]
    assert min(x for x in answer.fields["v"]["min"] if x is not None) == min(values)
    assert max(x for x in answer.fields["v"]["max"] if x is not None) == max(values)
    assert sum(answer.count) == len(points)
    for t, count in zip(answer.t, answer.count, strict=True):
        inside = [v for when, v in points if t <= when < t + answer.bucket_ms]
        assert len(inside) == count


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(points=series, wanted=st.integers(1, 4))
def test_rollup_tiers_agree_with_raw_samples_at_bucket_boundaries(
    stream: Stream, points: list[tuple[int, float]], wanted: int
) -> None:
    store(stream, points)
    span = 300_000  # five whole minutes: buckets of the tiers line up with raw buckets
    tiered = history_buckets(stream.pk, START, START + span, wanted)
    assert tiered.tier == "1m"
    raw = raw_buckets(points, START, tiered.bucket_ms)
    assert tiered.t == sorted(raw)
    for index, t in enumerate(tiered.t):
        low, high, total, count = raw[t]
        assert tiered.fields["v"]["min"][index] == low
        assert tiered.fields["v"]["max"][index] == high
        assert tiered.count[index] == count
        assert tiered.fields["v"]["mean"][index] == pytest.approx(total / count, rel=1e-9, abs=1e-6)


def raw_buckets(points: list[tuple[int, float]], start: int, width: int) -> dict[int, list[float]]:
    buckets: dict[int, list[float]] = {}
    for t, v in points:
        key = start + (t - start) // width * width
        low, high, total, count = buckets.get(key, [v, v, 0.0, 0])
        buckets[key] = [min(low, v), max(high, v), total + v, count + 1]
    return buckets


def test_a_day_at_one_hertz_answers_from_minute_rollups(stream: Stream) -> None:
    store(stream, [(START + 1000 * i, float(i % 600)) for i in range(86_400)])
    day = history_buckets(stream.pk, START, START + 86_400_000, 1000)
    assert day.tier == "1m" and len(day.t) == 720
    assert day.fields["v"]["max"][0] == 119.0 and day.fields["v"]["min"][0] == 0.0
    minute = history_buckets(stream.pk, START, START + 60_000, 1000)
    assert minute.tier == "raw" and sum(minute.count) == 60


def test_text_values_are_kept_out_of_the_statistics(stream: Stream) -> None:
    history_append({stream.pk: [sample_frame(1, START, {"v": 1.5, "label": "Sales"})]})
    answer = history_buckets(stream.pk, START, START + 1000, 10)
    assert list(answer.fields) == ["v"]


def test_a_raw_range_of_many_thousand_samples_has_every_sample_in_its_bucket(
    stream: Stream,
) -> None:
    points = [(START + 4 * i, float((i * 7919) % 1009) - 500) for i in range(15_000)]  # 60 s
    store(stream, points)
    answer = history_buckets(stream.pk, START, START + 60_000, 1000)
    assert answer.tier == "raw" and answer.bucket_ms == 60
    raw = raw_buckets(points, START, answer.bucket_ms)
    assert answer.t == sorted(raw)
    for index, t in enumerate(answer.t):
        low, high, total, count = raw[t]
        assert answer.fields["v"]["min"][index] == low
        assert answer.fields["v"]["max"][index] == high
        assert answer.count[index] == count
        assert answer.fields["v"]["mean"][index] == pytest.approx(total / count, rel=1e-9)


def test_raw_buckets_keep_integers_beyond_64_bits_exact(stream: Stream) -> None:
    store(stream, [(START, 2**70), (START + 1, 2**70 + 1), (START + 100, -(2**65))])
    answer = history_buckets(stream.pk, START, START + 1000, 2)
    assert answer.tier == "raw"
    assert answer.fields["v"]["max"] == [2**70 + 1]
    assert answer.fields["v"]["min"] == [-(2**65)]
