"""Reads about dashboards: who may see which, and what they show."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from dashboards.models import AlertEvent, AlertRule, Dashboard, DashboardShare, Widget


def dashboards_owned_by(user: Any) -> QuerySet[Dashboard]:
    return Dashboard.objects.filter(owner=user).order_by("position", "id")


def dashboards_shared_with(user: Any) -> QuerySet[Dashboard]:
    return Dashboard.objects.filter(shares__user=user).select_related("owner").order_by("title")


def dashboard_can_view(dashboard: Dashboard, user: Any) -> bool:
    """Return whether `user` may see the dashboard: its owner, a user it is shared with, or staff."""
    if not user.is_authenticated:
        return False
    if user.is_staff or dashboard.owner_id == user.pk:
        return True
    return dashboard.shares.filter(user=user).exists()


def dashboard_can_edit(dashboard: Dashboard, user: Any) -> bool:
    """Only the owner edits; shares are read-only."""
    return bool(user.is_authenticated and dashboard.owner_id == user.pk)


def dashboard_by_link(token: str) -> Dashboard | None:
    if not token or len(token) > 64:
        return None
    return Dashboard.objects.filter(link_token=token).first()


def alert_events_for(user: Any, limit: int = 50) -> QuerySet[AlertEvent]:
    return (
        AlertEvent.objects.filter(rule__owner=user)
        .select_related("rule", "rule__stream")
        .order_by("-started")[:limit]
    )


def dashboard_widgets(dashboard: Dashboard) -> QuerySet[Widget]:
    """Return the dashboard's widgets with their streams, top to bottom."""
    return dashboard.widgets.select_related("stream").order_by("y", "x", "id")


def dashboard_shares(dashboard: Dashboard) -> QuerySet[DashboardShare]:
    return dashboard.shares.select_related("user").order_by("user__username")


def alert_rules_of(user: Any) -> QuerySet[AlertRule]:
    return AlertRule.objects.filter(owner=user).select_related("stream").order_by("name", "id")
