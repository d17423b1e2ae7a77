"""History over [from, to): a bucket that starts exactly at `to` is not part of the answer."""

from __future__ import annotations

from typing import Any

import pytest

from streams.contract import sample_frame
from streams.history.query import history_buckets
from streams.history.rollups import MINUTE, SECOND
from streams.history.store import history_append
from streams.models import SourceKind, Stream
from tests.streams.conftest import logged_in

pytestmark = pytest.mark.django_db

START = 1_700_000_000_000 - 1_700_000_000_000 % MINUTE


@pytest.fixture
def steps(owner: Any) -> Stream:
    """Three minutes at 1 Hz: 10 through the first minute, 20 through the second, 99 after."""
    stream = Stream.objects.create(
        slug="steps",
        title="Steps",
        source_kind=SourceKind.PUSH,
        owner=owner,
        fields=[{"name": "value", "unit": ""}],
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
