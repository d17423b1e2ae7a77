"""History over [from, to): where its buckets begin and end, and how the answer is written.

A bucket that starts exactly at `to` is not part of the answer; `from` inside a
tier's bucket answers from that bucket's start; buckets are never narrower than
a millisecond nor wider than `points` needs; times and widths are integers.
"""

from __future__ import annotations

from typing import Any

import pytest

from streams.history.query import history_buckets
from streams.history.rollups import MINUTE, SECOND
from streams.history.store import history_append
from streams.messages import sample_frame
from streams.models import Stream
from tests.support.factories import make_stream
from tests.support.samples import EPOCH_MS
from tests.support.web import logged_in

pytestmark = pytest.mark.django_db

START = 1_700_000_000_000 - 1_700_000_000_000 % MINUTE


@pytest.fixture
def steps(owner: Any) -> Stream:
    """Three minutes at 1 Hz: 10 through the first minute, 20 through the second, 99 after."""
    stream = make_stream(
        "steps", title="Steps", owner=owner, fields=[{"name": "value", "unit": ""}]
    )
    values = [10.0] * 60 + [20.0] * 60 + [99.0] * 60
    frames = [sample_frame(i + 1, START + SECOND * i, {"value": v}) for i, v in enumerate(values)]
    history_append({stream.pk: frames})
    return stream


def test_a_range_ending_on_a_minute_leaves_that_minute_out(steps: Stream) -> None:
    answer = history_buckets(steps.pk, START, START + 2 * MINUTE, 2)
    assert answer.tier == "1m"
    assert answer.t == [START, START + MINUTE]
    assert answer.fields["value"]["max"] == [10.0, 20.0]
    assert answer.count == [60, 60]


def test_a_range_ending_on_a_second_leaves_that_second_out(steps: Stream) -> None:
    answer = history_buckets(steps.pk, START + 30 * SECOND, START + MINUTE, 30)
    assert answer.tier == "1s"
    assert answer.t[-1] == START + MINUTE - SECOND
    assert set(answer.fields["value"]["max"]) == {10.0}
    assert sum(answer.count) == 30


def test_the_api_answers_from_up_to_but_not_including_to(owner: Any, steps: Stream) -> None:
    response = logged_in(owner).get(
        f"/api/streams/steps/history?from={START + MINUTE}&to={START + 2 * MINUTE}&points=1"
    )
    body = response.json()
    assert body["tier"] == "1m"
    assert body["t"] == [START + MINUTE]
    assert body["fields"]["value"]["max"] == [20.0]
    assert body["count"] == [60]


def test_a_range_from_inside_a_minute_answers_from_that_minutes_start(steps: Stream) -> None:
    answer = history_buckets(steps.pk, START + 30 * SECOND, START + 2 * MINUTE, 1)
    assert answer.tier == "1m"
    assert answer.t == [START]
    assert answer.count == [120]
    assert answer.fields["value"]["first"] == [10.0]


def test_samples_a_millisecond_apart_get_a_bucket_each(owner: Any) -> None:
    stream = make_stream("fast", title="Fast", owner=owner, fields=[])
    history_append({stream.pk: [sample_frame(i + 1, START + i, {"v": i}) for i in range(10)]})
    answer = history_buckets(stream.pk, START, START + 10, 100)
    assert answer.tier == "raw" and answer.bucket_ms == 1
    assert answer.t == [START + i for i in range(10)]
    assert answer.fields["v"]["max"] == list(range(10))


def test_the_api_writes_times_and_widths_as_integers_and_names_flags(
    owner: Any, lab_stream: Stream
) -> None:
    response = logged_in(owner).get(
        f"/api/streams/{lab_stream.slug}/history?from={EPOCH_MS}&to={EPOCH_MS + 7_001}&points=7"
    )
    body = response.json()
    assert body["tier"] == "1s"
    assert body["bucket_ms"] == 2_000 and type(body["bucket_ms"]) is int
    assert all(type(t) is int for t in body["t"])
    assert body["t"][0] == EPOCH_MS - EPOCH_MS % 1000
    assert body["flags"]["anomaly"] == [1, 0, 0, 0]
