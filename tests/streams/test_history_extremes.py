"""Reduced history keeps what a chart must not lose: extremes, first and last, flags."""

from __future__ import annotations

from typing import Any

import pytest

from streams.history.query import history_buckets
from streams.history.rollups import FLAGS, MINUTE, merge_stats
from streams.history.store import history_append
from streams.messages import sample_frame
from streams.models import Rollup, Stream
from tests.support.factories import make_stream

pytestmark = pytest.mark.django_db

START = 1_700_000_000_000 - 1_700_000_000_000 % MINUTE


@pytest.fixture
def detector(owner: Any) -> Stream:
    """Ten minutes at 10 Hz around 50, one spike to 75 flagged, one dip to 25 flagged."""
    stream = make_stream(
        "detector", title="Detector", owner=owner, fields=[{"name": "value", "unit": ""}]
    )
    frames = []
    for i in range(6000):
        value, flags = 50.0 + (i % 3) - 1, []
        if i == 1234:
            value, flags = 75.0, ["anomaly"]
        if i == 4321:
            value, flags = 25.0, ["anomaly"]
        frames.append(sample_frame(i + 1, START + 100 * i, {"value": value}, flags))
    for offset in range(0, 6000, 700):  # stored in batches, as a producer does
        history_append({stream.pk: frames[offset : offset + 700]})
    return stream


@pytest.mark.parametrize("points", [20, 100, 1000, 5000])
def test_every_tier_keeps_the_spike_the_dip_and_their_flags(detector: Stream, points: int) -> None:
    answer = history_buckets(detector.pk, START, START + 600_000, points)
    series = answer.fields["value"]
    assert max(v for v in series["max"] if v is not None) == 75.0
    assert min(v for v in series["min"] if v is not None) == 25.0
    assert sum(answer.flags["anomaly"]) == 2
    spike = series["max"].index(75.0)
    assert answer.flags["anomaly"][spike] == 1


def test_first_and_last_are_the_bucket_edges_in_every_tier(detector: Stream) -> None:
    for points in (10, 600, 6000):
        answer = history_buckets(detector.pk, START, START + 600_000, points)
        series = answer.fields["value"]
        # The samples cycle 49, 50, 51 from the range's start.
        assert series["first"][0] == 49.0, (answer.tier, points)
        width = answer.bucket_ms // 100
        assert series["last"][0] == 49.0 + (width - 1) % 3, (answer.tier, points)


def test_minute_rollups_hold_first_last_and_flag_counts(detector: Stream) -> None:
    stats = Rollup.objects.get(stream=detector, tier=MINUTE, start=START + 2 * MINUTE).stats
    low, high, _, count, first, last = stats["value"]
    assert (low, high, count, first, last) == (49.0, 75.0, 600, 49.0 + 1200 % 3, 49.0 + 1799 % 3)
    assert stats[FLAGS] == {"anomaly": 1}


def test_rows_written_before_first_and_last_were_kept_fall_back_to_the_mean() -> None:
    merged = merge_stats({"v": [1.0, 3.0, 4.0, 2]}, {"v": [5.0, 5.0, 5.0, 1, 5.0, 5.0]})
    assert merged["v"] == [1.0, 5.0, 9.0, 3, 2.0, 5.0]
