"""The editor's fields after a change of kind: untouched defaults follow the new kind, a choice stays."""

from __future__ import annotations

import re
from typing import Any

import pytest

from dashboards.models import Dashboard
from streams.models import SourceKind, Stream
from tests.support.factories import make_stream
from tests.support.web import logged_in

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def sales(owner: Any) -> Stream:
    return make_stream(
        "business.alice",
        kind=SourceKind.BUSINESS,
        title="Alice's sales",
        fields=[{"name": "label", "unit": "", "type": "text"}, {"name": "value", "unit": ""}],
        owner=owner,
    )


def checked_fields(content: str) -> list[str]:
    return re.findall(r'name="fields" value="([^"]+)" checked', content)


def refreshed(owner: Any, dashboard: Dashboard, **data: Any) -> str:
    response = logged_in(owner).post(
        f"/d/{dashboard.pk}/widgets/new/", {**data, "_refresh": "1"}, **HTMX
    )
    assert response.status_code == 200
    return response.content.decode()


def test_a_new_feed_shows_labels_beside_numbers_after_the_chart_it_started_as(
    owner: Any, dashboard: Dashboard, sales: Stream
) -> None:
    # The editor opens as a time series, which ticks the numbers only.
    chart = refreshed(owner, dashboard, kind="timeseries", stream=sales.slug)
    assert checked_fields(chart) == ["value"]
    assert 'name="shown_kind" value="timeseries"' in chart
    feed = refreshed(
        owner, dashboard, kind="feed", stream=sales.slug, fields=["value"], shown_kind="timeseries"
    )
    assert checked_fields(feed) == ["label", "value"]


def test_fields_the_owner_chose_survive_a_change_of_kind(
    owner: Any, dashboard: Dashboard, sales: Stream
) -> None:
    feed = refreshed(
        owner, dashboard, kind="table", stream=sales.slug, fields=["label"], shown_kind="feed"
    )
    assert checked_fields(feed) == ["label"]
