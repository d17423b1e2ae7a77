"""The sharing panel and the alert rules pages."""

from __future__ import annotations

from typing import Any

import pytest

from alerts.models import AlertEvent, AlertRule
from dashboards.models import Dashboard, DashboardShare
from tests.support.web import logged_in

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


def test_sharing_with_a_user_by_name(owner: Any, outsider: Any, dashboard: Dashboard) -> None:
    response = logged_in(owner).post(
        f"/d/{dashboard.pk}/sharing/add/", {"username": "Mallory"}, **HTMX
    )
    assert response.status_code == 200
    assert "mallory can now see this dashboard." in response.content.decode()
    assert DashboardShare.objects.filter(dashboard=dashboard, user=outsider).exists()
    assert logged_in(outsider).get(f"/d/{dashboard.pk}/").status_code == 200


@pytest.mark.parametrize(
    "username,message",
    [("nobody", "There is no user called “nobody”."), ("alice", "The owner already sees")],
)
def test_sharing_errors_are_shown(
    owner: Any, dashboard: Dashboard, username: str, message: str
) -> None:
    before = list(dashboard.shares.values_list("user_id", flat=True))
    response = logged_in(owner).post(
        f"/d/{dashboard.pk}/sharing/add/", {"username": username}, **HTMX
    )
    assert response.status_code == 422
    assert message in response.content.decode()
    assert list(dashboard.shares.values_list("user_id", flat=True)) == before


def test_removing_a_share_ends_access(owner: Any, shared_user: Any, dashboard: Dashboard) -> None:
    logged_in(owner).post(f"/d/{dashboard.pk}/sharing/{shared_user.pk}/remove/", **HTMX)
    assert logged_in(shared_user).get(f"/d/{dashboard.pk}/").status_code == 404


def test_a_new_link_replaces_the_old_one(owner: Any, dashboard: Dashboard) -> None:
    old = dashboard.link_token
    response = logged_in(owner).post(f"/d/{dashboard.pk}/link/", **HTMX)
    dashboard.refresh_from_db()
    assert dashboard.link_token and dashboard.link_token != old
    assert f"/share/{dashboard.link_token}/" in response.content.decode()
    assert logged_in(owner).get(f"/share/{old}/").status_code == 404


def rule_data(**changes: Any) -> dict[str, Any]:
    data = {
        "name": "Hot",
        "stream": "sensors.alice",
        "field": "temperature",
        "condition": "above",
        "threshold": "28",
        "duration_seconds": "10",
        "enabled": "on",
    }
    return data | changes


def test_creating_a_rule(owner: Any, private_stream: Any) -> None:
    response = logged_in(owner).post("/alerts/new/", rule_data(), **HTMX)
    assert response.status_code == 200
    rule = AlertRule.objects.get()
    assert (
        rule.owner,
        rule.stream,
        rule.field,
        rule.condition,
        rule.threshold,
        rule.duration_seconds,
        rule.enabled,
    ) == (
        owner,
        private_stream,
        "temperature",
        "above",
        28.0,
        10,
        True,
    )
    content = response.content.decode()
    assert "Saved “Hot”." in content
    assert 'id="alert-rules"' in content and 'hx-swap-oob="true"' in content


@pytest.mark.parametrize(
    "changes,place,message",
    [
        ({"threshold": ""}, "threshold", "Above and below need a threshold."),
        ({"field": "wind"}, "field", "sensors.alice has no field"),
        ({"duration_seconds": "-1"}, "duration_seconds", "must be from 0 to 86400 seconds"),
        ({"duration_seconds": "soon"}, "duration_seconds", "Enter a whole number."),
        ({"name": ""}, "name", "This field is required."),
        ({"condition": "sideways"}, "condition", "Select a valid choice."),
        ({"stream": "sensors.mallory"}, "stream", "Select a valid choice."),
    ],
)
def test_a_bad_rule_shows_its_errors_and_is_not_saved(
    owner: Any, private_stream: Any, changes: dict[str, Any], place: str, message: str
) -> None:
    response = logged_in(owner).post("/alerts/new/", rule_data(**changes), **HTMX)
    assert response.status_code == 422
    content = response.content.decode()
    assert f'id="error-{place}"' in content
    assert message in content
    assert not AlertRule.objects.exists()


def test_an_anomaly_rule_needs_no_threshold(owner: Any, private_stream: Any) -> None:
    logged_in(owner).post("/alerts/new/", rule_data(condition="anomaly", threshold=""), **HTMX)
    assert AlertRule.objects.get().threshold is None


def test_disabling_a_firing_rule_resolves_its_event(owner: Any, rule: AlertRule) -> None:
    AlertRule.objects.filter(pk=rule.pk).update(state="firing")
    event = AlertEvent.objects.create(rule=rule, started=1, value=31.0, message="Too warm")
    logged_in(owner).post(
        f"/alerts/{rule.pk}/",
        rule_data(name="Too warm", threshold="30", duration_seconds="5", enabled=""),
        **HTMX,
    )
    rule.refresh_from_db()
    event.refresh_from_db()
    assert (rule.enabled, rule.firing) == (False, False)
    assert event.resolved is not None


def test_the_alerts_page_lists_rules_and_events(owner: Any, rule: AlertRule) -> None:
    AlertEvent.objects.create(
        rule=rule,
        started=1_700_000_000_000,
        value=31.0,
        message="Too warm: sensors.alice temperature above 30 (31)",
    )
    content = logged_in(owner).get("/alerts/").content.decode()
    assert f'data-rule-id="{rule.pk}"' in content
    assert "Too warm: sensors.alice temperature above 30 (31)" in content


def test_the_dashboard_shows_recent_alert_events_in_the_bell(
    owner: Any, rule: AlertRule, dashboard: Dashboard
) -> None:
    AlertEvent.objects.create(
        rule=rule, started=1_700_000_000_000, value=31.0, message="Too warm now"
    )
    content = logged_in(owner).get(f"/d/{dashboard.pk}/").content.decode()
    assert 'id="alert-list"' in content and "Too warm now" in content
