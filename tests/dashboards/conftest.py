"""Named actors around one dashboard: its owner, a user it is shared with, an outsider, staff, a link holder."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from alerts.models import AlertRule
from alerts.services import alert_rule_save
from dashboards import services
from dashboards.models import Dashboard, Widget
from streams.models import Stream


@pytest.fixture(autouse=True)
def fast_password_hashing(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def shared_user(django_user_model: Any) -> Any:
    return django_user_model.objects.create_user("bob", "bob@example.com", "bob-password")


@pytest.fixture
def dashboard(owner: Any, private_stream: Stream, shared_user: Any) -> Dashboard:
    board = services.dashboard_create(owner=owner, title="Plant floor")
    services.widget_save(
        dashboard=board,
        user=owner,
        kind="timeseries",
        stream=private_stream,
        title="Temperature",
        config={"fields": ["temperature"], "window_seconds": 60},
    )
    services.share_add(dashboard=board, user=shared_user)
    services.link_create(dashboard=board)
    return board


@pytest.fixture
def widget(dashboard: Dashboard) -> Widget:
    return dashboard.widgets.get()


@pytest.fixture
def rule(owner: Any, private_stream: Stream) -> AlertRule:
    return alert_rule_save(
        rule=AlertRule(
            owner=owner,
            name="Too warm",
            stream=private_stream,
            field="temperature",
            condition="above",
            threshold=30.0,
            duration_seconds=5,
        )
    )


def logged_in(user: Any, *, csrf: bool = False) -> Client:
    client = Client(enforce_csrf_checks=csrf)
    client.force_login(user)
    return client


@pytest.fixture
def actors(owner: Any, shared_user: Any, outsider: Any, staff: Any) -> dict[str, Client]:
    """Return a browser per actor; the link holder and the anonymous visitor are not logged in."""
    return {
        "owner": logged_in(owner),
        "shared": logged_in(shared_user),
        "outsider": logged_in(outsider),
        "staff": logged_in(staff),
        "link_holder": Client(),
        "anonymous": Client(),
    }


def snapshot(dashboard: Dashboard) -> dict[str, Any]:
    """Return everything about a dashboard that a refused request must leave as it was."""
    fresh = Dashboard.objects.filter(pk=dashboard.pk).first()
    if fresh is None:
        return {"deleted": True}
    return {
        "title": fresh.title,
        "position": fresh.position,
        "link": fresh.link_token,
        "shares": sorted(fresh.shares.values_list("user__username", flat=True)),
        "widgets": sorted(
            fresh.widgets.values_list("id", "kind", "title", "stream_id", "x", "y", "w", "h")
        ),
        "configs": [w.config for w in fresh.widgets.order_by("id")],
        "dashboards": Dashboard.objects.count(),
        "rules": sorted(AlertRule.objects.values_list("id", "name", "threshold", "enabled")),
    }
