"""Which tier answers a history range: raw samples up to the row cap, seconds past it.

PULSEBOARD_HISTORY_MAX_ROWS bounds the rows one answer reads: a range of exactly
that many raw samples is answered from them, one more from the second rollups,
and the seconds tier is left for minutes only when it has more seconds than that.
"""

from __future__ import annotations

from typing import Any

import pytest

from streams.history.query import history_buckets
from streams.history.rollups import MINUTE
from streams.history.store import history_append
from streams.messages import sample_frame
from streams.models import Stream
from tests.support.factories import make_stream

pytestmark = pytest.mark.django_db

START = 1_700_000_000_000 - 1_700_000_000_000 % MINUTE
CAP = 10


@pytest.fixture
def capped(settings: Any) -> None:
    settings.PULSEBOARD_HISTORY_MAX_ROWS = CAP


@pytest.fixture
def stream(owner: Any) -> Stream:
    return make_stream("tiers", title="Tiers", owner=owner, fields=[{"name": "v", "unit": ""}])


def every_100_ms(stream: Stream, count: int) -> None:
    history_append(
        {stream.pk: [sample_frame(i + 1, START + 100 * i, {"v": float(i)}) for i in range(count)]}
    )


def test_a_range_of_exactly_the_cap_in_raw_samples_is_answered_from_them(
    capped: None, stream: Stream
) -> None:
    every_100_ms(stream, CAP)
    answer = history_buckets(stream.pk, START, START + 100 * CAP, 100)
    assert answer.tier == "raw"
    assert sum(answer.count) == CAP


def test_one_sample_past_the_cap_is_answered_from_seconds(capped: None, stream: Stream) -> None:
    every_100_ms(stream, CAP + 1)
    answer = history_buckets(stream.pk, START, START + 100 * (CAP + 1), 100)
    assert answer.tier == "1s"
    assert sum(answer.count) == CAP + 1


def test_seconds_answer_until_there_are_more_whole_seconds_than_the_cap(
    capped: None, stream: Stream
) -> None:
    every_100_ms(stream, 105)  # 10.5 s: ten whole seconds and a half
    answer = history_buckets(stream.pk, START, START + 10_500, 100)
    assert answer.tier == "1s"
    assert sum(answer.count) == 105


def test_a_range_with_no_samples_is_an_empty_answer(stream: Stream) -> None:
    every_100_ms(stream, 3)
    answer = history_buckets(stream.pk, START + MINUTE, START + MINUTE + 1000, 100)
    assert answer.tier == "raw"
    assert answer.t == [] and answer.count == [] and answer.fields == {}
