"""Layout, reorder, rename, export and import."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from dashboards import services
from dashboards.models import Dashboard, Widget
from tests.support.web import logged_in

pytestmark = pytest.mark.django_db


def test_the_layout_is_stored_and_served_with_the_page(
    owner: Any, dashboard: Dashboard, widget: Widget
) -> None:
    client = logged_in(owner)
    layout = [{"id": widget.pk, "x": 6, "y": 2, "w": 6, "h": 5}]
    response = client.post(
        f"/d/{dashboard.pk}/layout/", json.dumps(layout), content_type="application/json"
    )
    assert response.status_code == 204
    page = client.get(f"/d/{dashboard.pk}/").context["page"]
    assert {k: page["widgets"][0][k] for k in ("id", "x", "y", "w", "h")} == layout[0]


@pytest.mark.parametrize(
    "body", ["not json", json.dumps({"id": 1}), json.dumps([{"id": 1, "x": "left"}])]
)
def test_a_malformed_layout_is_refused(
    owner: Any, dashboard: Dashboard, widget: Widget, body: str
) -> None:
    response = logged_in(owner).post(
        f"/d/{dashboard.pk}/layout/", body, content_type="application/json"
    )
    assert response.status_code == 400
    widget.refresh_from_db()
    assert (widget.x, widget.y) == (0, 0)


def test_reorder_puts_own_dashboards_in_the_posted_order_and_ignores_others(
    owner: Any, outsider: Any, dashboard: Dashboard
) -> None:
    second = Dashboard.objects.create(owner=owner, title="Second", position=99)
    starter = Dashboard.objects.get(owner=owner, title="My first dashboard")
    theirs = Dashboard.objects.filter(owner=outsider).get()
    ids = [second.pk, theirs.pk, dashboard.pk, starter.pk]
    response = logged_in(owner).post(
        "/d/reorder/",
        {"order": ",".join(map(str, ids)), "current": dashboard.pk},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    titles = [d.title for d in Dashboard.objects.filter(owner=owner).order_by("position")]
    assert titles == ["Second", "Plant floor", "My first dashboard"]
    assert theirs.position == Dashboard.objects.get(pk=theirs.pk).position
    assert response.content.decode().index("Second") < response.content.decode().index(
        "Plant floor"
    )


def test_reorder_refuses_text(owner: Any) -> None:
    assert logged_in(owner).post("/d/reorder/", {"order": "1,two"}).status_code == 400


def test_rename_by_htmx_updates_title_and_sidebar(owner: Any, dashboard: Dashboard) -> None:
    response = logged_in(owner).post(
        f"/d/{dashboard.pk}/rename/", {"title": "Boiler room"}, HTTP_HX_REQUEST="true"
    )
    content = response.content.decode()
    assert 'id="board-title"' in content and "Boiler room" in content
    assert 'id="sidebar-content"' in content and 'hx-swap-oob="true"' in content


def test_rename_to_nothing_is_refused(owner: Any, dashboard: Dashboard) -> None:
    response = logged_in(owner).post(
        f"/d/{dashboard.pk}/rename/", {"title": ""}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 400
    assert "This field is required." in response.content.decode()


def upload(data: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile("board.json", data, content_type="application/json")


def test_an_export_imports_as_a_new_dashboard(owner: Any, dashboard: Dashboard) -> None:
    client = logged_in(owner)
    exported = client.get(f"/d/{dashboard.pk}/export.json").content
    response = client.post("/d/import/", {"file": upload(exported)})
    copy = Dashboard.objects.filter(owner=owner).order_by("-id").first()
    assert copy is not None and copy.pk != dashboard.pk
    assert response["Location"] == f"/d/{copy.pk}/"
    assert list(copy.widgets.values_list("kind", "config")) == list(
        dashboard.widgets.values_list("kind", "config")
    )


@pytest.mark.parametrize(
    "data,message",
    [
        (b"\x89PNG not json", "The file is not JSON."),
        (b'{"title": "x"}', "This is not a Pulseboard dashboard export"),
        (
            json.dumps(
                {
                    "pulseboard_dashboard": 1,
                    "title": "X",
                    "widgets": [{"kind": "gauge", "stream": "nope", "config": {}}],
                }
            ).encode(),
            "there is no stream &#x27;nope&#x27;",
        ),
        (
            json.dumps(
                {
                    "pulseboard_dashboard": 1,
                    "title": "X",
                    "widgets": [
                        {"kind": "gauge", "stream": "sensors.alice", "config": {"fields": ["wind"]}}
                    ],
                }
            ).encode(),
            "wind not in sensors.alice",
        ),
    ],
)
def test_a_bad_file_creates_nothing_and_says_why(
    owner: Any, dashboard: Dashboard, data: bytes, message: str
) -> None:
    before = (Dashboard.objects.count(), Widget.objects.count())
    response = logged_in(owner).post("/d/import/", {"file": upload(data)})
    assert response.status_code == 400
    assert message in response.content.decode()
    assert (Dashboard.objects.count(), Widget.objects.count()) == before


def test_an_import_may_not_use_streams_the_user_cannot_read(
    outsider: Any, dashboard: Dashboard
) -> None:
    exported = logged_in(dashboard.owner).get(f"/d/{dashboard.pk}/export.json").content
    before = Dashboard.objects.count()
    response = logged_in(outsider).post("/d/import/", {"file": upload(exported)})
    assert response.status_code == 400
    assert "is not yours to show" in response.content.decode()
    assert Dashboard.objects.count() == before


def test_a_new_widget_fills_the_room_beside_the_last_ones_before_starting_a_row(
    owner: Any, dashboard: Dashboard, private_stream: Any
) -> None:
    def added(kind: str, size: tuple[int, int]) -> tuple[int, int]:
        widget = services.widget_save(
            dashboard=dashboard, user=owner, kind=kind, stream=private_stream, size=size
        )
        return widget.x, widget.y

    assert [(w.x, w.y, w.w, w.h) for w in dashboard.widgets.all()] == [(0, 0, 6, 4)]
    assert added("stat", (3, 3)) == (6, 0)
    assert added("stat", (3, 3)) == (9, 0)
    # Under the two stats, beside the chart, before a new row under everything.
    assert added("stat", (6, 2)) == (6, 3)
    assert added("stat", (12, 2)) == (0, 5)
