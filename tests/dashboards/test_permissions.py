"""Who may do what with a dashboard: every view, every actor, and nothing changes when refused."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from alerts.models import AlertRule
from dashboards.models import Dashboard, Widget
from tests.support.boards import snapshot

pytestmark = pytest.mark.django_db

VIEWERS = {"owner": 200, "shared": 200, "staff": 200, "outsider": 404, "anonymous": 302}
# Edits: the owner only; people who may look get 403, the rest do not learn it exists.
EDITORS = {"owner": "ok", "shared": 403, "staff": 403, "outsider": 404, "anonymous": 302}


def edit_requests(dashboard: Dashboard, widget: Widget, shared_user: Any) -> dict[str, Any]:
    """Return name → (method, url, data, content type) of every endpoint that changes a dashboard."""
    d = dashboard.pk
    return {
        "rename": ("post", f"/d/{d}/rename/", {"title": "Taken over"}, None),
        "layout": (
            "post",
            f"/d/{d}/layout/",
            json.dumps([{"id": widget.pk, "x": 6, "y": 2, "w": 3, "h": 2}]),
            "application/json",
        ),
        "widget_new": (
            "post",
            f"/d/{d}/widgets/new/",
            {"kind": "gauge", "stream": widget.stream.slug, "fields": "temperature"},
            None,
        ),
        "widget_edit": (
            "post",
            f"/d/{d}/widgets/{widget.pk}/",
            {"kind": "stat", "stream": widget.stream.slug, "fields": "temperature"},
            None,
        ),
        "widget_delete": ("post", f"/d/{d}/widgets/{widget.pk}/delete/", {}, None),
        "share_add": ("post", f"/d/{d}/sharing/add/", {"username": "mallory"}, None),
        "share_remove": ("post", f"/d/{d}/sharing/{shared_user.pk}/remove/", {}, None),
        "link_create": ("post", f"/d/{d}/link/", {}, None),
        "link_revoke": ("post", f"/d/{d}/link/revoke/", {}, None),
        "delete": ("post", f"/d/{d}/delete/", {}, None),
        "editor_form": ("get", f"/d/{d}/widgets/new/", None, None),
        "sharing_panel": ("get", f"/d/{d}/sharing/", None, None),
    }


def send(client: Client, method: str, url: str, data: Any, content_type: str | None) -> Any:
    if method == "get":
        return client.get(url)
    if content_type:
        return client.post(url, data, content_type=content_type)
    return client.post(url, data)


@pytest.mark.parametrize("actor,expected", VIEWERS.items())
def test_dashboard_page_by_actor(
    actors: dict[str, Client], dashboard: Dashboard, actor: str, expected: int
) -> None:
    response = actors[actor].get(f"/d/{dashboard.pk}/")
    assert response.status_code == expected
    if expected == 302:
        assert response["Location"].startswith("/accounts/login/")
    if expected == 200:
        assert b"Plant floor" in response.content
        assert b"board-data" in response.content


@pytest.mark.parametrize("actor,expected", VIEWERS.items())
def test_export_by_actor(
    actors: dict[str, Client], dashboard: Dashboard, actor: str, expected: int
) -> None:
    response = actors[actor].get(f"/d/{dashboard.pk}/export.json")
    assert response.status_code == expected
    if expected == 200:
        assert response["Content-Disposition"] == 'attachment; filename="plant-floor.json"'
        assert json.loads(response.content)["widgets"][0]["stream"] == "sensors.alice"


@pytest.mark.parametrize(
    "endpoint",
    [
        "rename",
        "layout",
        "widget_new",
        "widget_edit",
        "widget_delete",
        "share_add",
        "share_remove",
        "link_create",
        "link_revoke",
        "delete",
        "editor_form",
        "sharing_panel",
    ],
)
@pytest.mark.parametrize("actor", ["shared", "staff", "outsider", "anonymous", "link_holder"])
def test_it_refuses_edits_to_everyone_but_the_owner(
    actors: dict[str, Client],
    dashboard: Dashboard,
    widget: Widget,
    shared_user: Any,
    endpoint: str,
    actor: str,
) -> None:
    before = snapshot(dashboard)
    method, url, data, content_type = edit_requests(dashboard, widget, shared_user)[endpoint]
    response = send(actors[actor], method, url, data, content_type)
    expected = EDITORS.get(actor, 302)
    assert response.status_code == expected
    assert snapshot(dashboard) == before


@pytest.mark.parametrize(
    "endpoint,status",
    [
        ("rename", 302),
        ("layout", 204),
        ("widget_new", 200),
        ("widget_edit", 200),
        ("widget_delete", 302),
        ("share_add", 302),
        ("share_remove", 302),
        ("link_create", 302),
        ("link_revoke", 302),
        ("delete", 302),
        ("editor_form", 200),
        ("sharing_panel", 200),
    ],
)
def test_the_owner_may_use_every_edit_endpoint(
    actors: dict[str, Client],
    dashboard: Dashboard,
    widget: Widget,
    shared_user: Any,
    endpoint: str,
    status: int,
) -> None:
    before = snapshot(dashboard)
    method, url, data, content_type = edit_requests(dashboard, widget, shared_user)[endpoint]
    response = send(actors["owner"], method, url, data, content_type)
    assert response.status_code == status
    if method == "post":
        assert snapshot(dashboard) != before


def test_the_link_holder_sees_the_dashboard_read_only_without_logging_in(
    actors: dict[str, Client], dashboard: Dashboard
) -> None:
    response = actors["link_holder"].get(f"/share/{dashboard.link_token}/")
    assert response.status_code == 200
    assert response["Referrer-Policy"] == "no-referrer"
    page = response.context["page"]
    assert page["share"] == dashboard.link_token
    assert page["can_edit"] is False
    assert page["history"] is False
    assert b"add-widget" not in response.content


def test_the_link_holder_may_not_open_the_dashboard_page_itself(
    actors: dict[str, Client], dashboard: Dashboard
) -> None:
    actors["link_holder"].get(f"/share/{dashboard.link_token}/")
    response = actors["link_holder"].get(f"/d/{dashboard.pk}/")
    assert response.status_code == 302


def test_a_revoked_or_made_up_link_is_not_found(
    actors: dict[str, Client], dashboard: Dashboard
) -> None:
    token = dashboard.link_token
    assert actors["anonymous"].get("/share/not-a-real-token/").status_code == 404
    actors["owner"].post(f"/d/{dashboard.pk}/link/revoke/")
    assert actors["link_holder"].get(f"/share/{token}/").status_code == 404


def test_the_shared_user_sees_it_read_only_and_may_duplicate_it_as_their_own(
    actors: dict[str, Client], dashboard: Dashboard, shared_user: Any
) -> None:
    page = actors["shared"].get(f"/d/{dashboard.pk}/")
    assert page.context["can_edit"] is False
    assert b"read-only" in page.content
    response = actors["shared"].post(f"/d/{dashboard.pk}/duplicate/", follow=True)
    copy = Dashboard.objects.get(owner=shared_user, title="Copy of Plant floor")
    assert response.redirect_chain[-1][0] == f"/d/{copy.pk}/"
    # The owner's private stream is not the shared user's to show, nor to share on.
    assert copy.widgets.count() == 0
    assert "Left out 1 widget(s) of streams that are not yours to show" in response.content.decode()


def test_an_outsider_may_not_duplicate_it(actors: dict[str, Client], dashboard: Dashboard) -> None:
    before = Dashboard.objects.count()
    assert actors["outsider"].post(f"/d/{dashboard.pk}/duplicate/").status_code == 404
    assert Dashboard.objects.count() == before


@pytest.mark.parametrize(
    "actor,expected", {"owner": 200, "outsider": 404, "staff": 404, "anonymous": 302}.items()
)
def test_alert_rules_belong_to_their_owner(
    actors: dict[str, Client], rule: AlertRule, actor: str, expected: int
) -> None:
    assert actors[actor].get(f"/alerts/{rule.pk}/").status_code == expected
    before = list(AlertRule.objects.values_list("id", "name", "threshold"))
    refused = actors[actor].post(
        f"/alerts/{rule.pk}/",
        {
            "name": "Mine now",
            "stream": "sensors.alice",
            "field": "temperature",
            "condition": "below",
            "threshold": "1",
            "duration_seconds": "0",
        },
    )
    deleted = actors[actor].post(f"/alerts/{rule.pk}/delete/")
    if actor == "owner":
        assert refused.status_code == 302 and deleted.status_code == 302
        assert not AlertRule.objects.exists()
    else:
        assert refused.status_code == expected and deleted.status_code == expected
        assert list(AlertRule.objects.values_list("id", "name", "threshold")) == before


def test_the_alerts_page_needs_a_login(actors: dict[str, Client]) -> None:
    assert actors["anonymous"].get("/alerts/").status_code == 302
    assert actors["outsider"].get("/alerts/").status_code == 200


def test_import_needs_a_login(actors: dict[str, Client]) -> None:
    assert actors["anonymous"].get("/d/import/").status_code == 302


def test_home_opens_the_first_own_dashboard_in_list_order(
    actors: dict[str, Client], owner: Any, dashboard: Dashboard
) -> None:
    first = Dashboard.objects.filter(owner=owner).order_by("position", "id").first()
    assert first is not None
    assert actors["owner"].get("/")["Location"] == f"/d/{first.pk}/"
    assert actors["anonymous"].get("/").status_code == 302
