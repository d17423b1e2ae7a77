"""State-changing endpoints refuse a POST without the CSRF token, and change nothing."""

from __future__ import annotations

import json
from typing import Any

import pytest

from dashboards.models import Dashboard, Widget
from tests.support.boards import snapshot
from tests.support.web import logged_in

pytestmark = pytest.mark.django_db


def posts(
    dashboard: Dashboard, widget: Widget, shared_user: Any
) -> list[tuple[str, Any, str | None]]:
    d = dashboard.pk
    return [
        (f"/d/{d}/rename/", {"title": "Forged"}, None),
        (
            f"/d/{d}/layout/",
            json.dumps([{"id": widget.pk, "x": 1, "y": 1, "w": 2, "h": 2}]),
            "application/json",
        ),
        (
            f"/d/{d}/widgets/new/",
            {"kind": "gauge", "stream": "sensors.alice", "fields": "temperature"},
            None,
        ),
        (f"/d/{d}/widgets/{widget.pk}/delete/", {}, None),
        (f"/d/{d}/sharing/add/", {"username": "mallory"}, None),
        (f"/d/{d}/sharing/{shared_user.pk}/remove/", {}, None),
        (f"/d/{d}/link/", {}, None),
        (f"/d/{d}/link/revoke/", {}, None),
        (f"/d/{d}/delete/", {}, None),
        (f"/d/{d}/duplicate/", {}, None),
        ("/d/new/", {"title": "Forged"}, None),
        ("/d/reorder/", {"order": str(d)}, None),
        (
            "/alerts/new/",
            {
                "name": "Forged",
                "stream": "sensors.alice",
                "field": "temperature",
                "condition": "anomaly",
                "duration_seconds": "0",
            },
            None,
        ),
    ]


def test_every_post_without_the_token_is_refused(
    owner: Any, dashboard: Dashboard, widget: Widget, shared_user: Any
) -> None:
    client = logged_in(owner, csrf=True)
    before = snapshot(dashboard)
    for url, data, content_type in posts(dashboard, widget, shared_user):
        if content_type:
            response = client.post(url, data, content_type=content_type)
        else:
            response = client.post(url, data)
        assert response.status_code == 403, url
    assert snapshot(dashboard) == before


def test_a_post_with_the_token_goes_through(owner: Any, dashboard: Dashboard) -> None:
    client = logged_in(owner, csrf=True)
    page = client.get(f"/d/{dashboard.pk}/")
    token = page.context["csrf_token"]
    response = client.post(
        f"/d/{dashboard.pk}/rename/", {"title": "Renamed"}, HTTP_X_CSRFTOKEN=str(token)
    )
    assert response.status_code == 302
    dashboard.refresh_from_db()
    assert dashboard.title == "Renamed"
