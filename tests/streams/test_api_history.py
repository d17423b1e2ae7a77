"""GET /api/streams/<slug>/history: a bounded number of buckets of a time range."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from streams.models import Stream
from tests.support.samples import EPOCH_MS
from tests.support.web import logged_in

pytestmark = pytest.mark.django_db(transaction=True)


def test_it_answers_a_bounded_number_of_buckets(owner: Any, lab_stream: Stream) -> None:
    response = logged_in(owner).get(
        f"/api/streams/{lab_stream.slug}/history?from={EPOCH_MS}&to={EPOCH_MS + 120_001}&points=100"
    )
    assert response.status_code == 200
    body = response.json()
    assert body["stream"] == "lab.private" and len(body["t"]) <= 101
    assert min(body["fields"]["temperature"]["min"]) == 20
    assert max(body["fields"]["temperature"]["max"]) == 26
    assert sum(body["count"]) == 1200


def test_it_rejects_other_users_streams_and_bad_ranges(
    owner: Any, outsider: Any, lab_stream: Stream
) -> None:
    assert logged_in(outsider).get(f"/api/streams/{lab_stream.slug}/history").status_code == 404
    assert Client().get(f"/api/streams/{lab_stream.slug}/history").status_code == 401
    for query in ("from=10&to=5", "points=0", "points=abc", "from=yesterday"):
        response = logged_in(owner).get(f"/api/streams/{lab_stream.slug}/history?{query}")
        assert response.status_code == 400, query
        assert response.json()["error"]["code"] == "invalid_field"
