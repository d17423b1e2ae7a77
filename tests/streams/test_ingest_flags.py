"""A pushed sample's flags: at most eight, each of 1 to 40 characters, stored as sent."""

from __future__ import annotations

from typing import Any

import pytest

from streams.models import Stream
from tests.support.samples import stored_samples
from tests.support.web import INGEST, post_json, token_client

# A batch that gets as far as being stored goes through database_sync_to_async, which
# closes the connection of a test transaction: these tests commit for real.
pytestmark = pytest.mark.django_db(transaction=True)

REFUSED = "samples[0].flags must be a short list of short strings."


def push(token: str, flags: list[str]) -> Any:
    samples = [{"values": {"value": 1}, "flags": flags}]
    return post_json(token_client(token), INGEST, {"samples": samples})


def test_eight_flags_of_one_to_forty_characters_are_stored(
    owner_token: str, push_stream: Stream
) -> None:
    flags = ["a", "x" * 40, "anomaly", "gap", "clipped", "estimated", "manual", "late"]
    assert push(owner_token, flags).status_code == 201
    assert [sample.flags for sample in stored_samples(push_stream)] == [flags]


@pytest.mark.parametrize("flags", [["x" * 41], [""], ["a"] * 9])
def test_a_longer_flag_an_empty_one_or_a_ninth_is_refused(
    owner_token: str, push_stream: Stream, flags: list[str]
) -> None:
    response = push(owner_token, flags)
    assert response.status_code == 400
    assert response.json()["error"] == {"code": "invalid_field", "message": REFUSED}
    assert stored_samples(push_stream) == []
