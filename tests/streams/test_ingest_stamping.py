"""The time the server gives a pushed sample that brought none, beside samples that did.

A sample without `t` is stamped when its batch is stored: now, but never
earlier than the stream's latest sample or the sample before it in the batch,
and never later than a later sample of the batch that brought its own `t`, so
a stream's times never run backwards. A `t` equal to the latest stored one is
accepted; an earlier one is refused whole (409). A given `t` may be anything
from the epoch's first millisecond to five minutes ahead of the server's clock.
"""

from __future__ import annotations

from typing import Any

import pytest

from streams.clock import now_ms
from streams.models import Stream
from streams.producer.ingest import IngestError, Row, ingest_validate, rows_stamped
from tests.support.samples import stored_samples
from tests.support.web import INGEST, post_json, token_client

# A batch that gets as far as being stored goes through database_sync_to_async, which
# closes the connection of a test transaction: these tests commit for real.
pytestmark = pytest.mark.django_db(transaction=True)

MINUTE = 60_000


def push(token: str, samples: list[dict[str, Any]]) -> Any:
    return post_json(token_client(token), INGEST, {"samples": samples})


def stored_times(stream: Stream) -> list[int]:
    return [t for _, t, _, _ in stored_samples(stream)]


def test_a_batch_that_waited_stamps_no_sample_later_than_a_given_time_after_it() -> None:
    # Checked at `now`, the batch waited for the stream (another push held it): when it
    # is stored, its own `t` after the stamped sample is already in the past.
    given = 1_700_000_000_000
    rows: list[Row] = [(None, {"value": 1}, []), (given, {"value": 2}, [])]
    stamped = rows_stamped(rows, now=given + 500, latest=None)
    assert [t for t, _, _ in stamped] == [given, given]


def test_stamped_samples_between_two_given_times_take_now(
    owner_token: str, push_stream: Stream
) -> None:
    before = now_ms()
    first, last = before - MINUTE, before + MINUTE
    samples: list[dict[str, Any]] = [
        {"t": first, "values": {"value": 1}},
        {"values": {"value": 2}},
        {"values": {"value": 3}},
        {"t": last, "values": {"value": 4}},
    ]
    assert push(owner_token, samples).status_code == 201
    after = now_ms()
    times = stored_times(push_stream)
    assert times[0] == first and times[3] == last
    assert before <= times[1] <= times[2] <= after


def test_a_time_equal_to_the_latest_stored_is_taken_one_before_it_is_not(
    owner_token: str, push_stream: Stream
) -> None:
    t = now_ms() - MINUTE
    assert push(owner_token, [{"t": t, "values": {"value": 1}}]).status_code == 201
    assert push(owner_token, [{"t": t, "values": {"value": 2}}]).status_code == 201
    refused = push(owner_token, [{"t": t - 1, "values": {"value": 3}}])
    assert refused.status_code == 409
    assert refused.json()["error"]["message"] == (
        f"samples[0].t is earlier than the stream's latest sample ({t})."
    )
    assert stored_times(push_stream) == [t, t]


def test_a_time_equal_to_the_latest_stored_is_taken_beside_a_stamped_sample(
    owner_token: str, push_stream: Stream
) -> None:
    t = now_ms() - MINUTE
    assert push(owner_token, [{"t": t, "values": {"value": 1}}]).status_code == 201
    samples: list[dict[str, Any]] = [{"t": t, "values": {"value": 2}}, {"values": {"value": 3}}]
    assert push(owner_token, samples).status_code == 201
    times = stored_times(push_stream)
    assert times[:2] == [t, t] and times[2] >= t


def test_the_first_millisecond_of_the_epoch_is_a_time(
    owner_token: str, push_stream: Stream
) -> None:
    assert push(owner_token, [{"t": 0, "values": {"value": 1}}]).status_code == 201
    assert stored_times(push_stream) == [0]


def test_a_time_five_minutes_ahead_is_taken_a_millisecond_more_is_not(push_stream: Stream) -> None:
    now = 1_700_000_000_000
    ahead = [{"t": now + 5 * MINUTE, "values": {"value": 1}}]
    rows = ingest_validate(stream=push_stream, samples=ahead, now=now)
    assert [t for t, _, _ in rows] == [now + 5 * MINUTE]
    too_far = [{"t": now + 5 * MINUTE + 1, "values": {"value": 1}}]
    with pytest.raises(IngestError) as refused:
        ingest_validate(stream=push_stream, samples=too_far, now=now)
    assert refused.value.message == "samples[0].t is more than 5 minutes in the future."
