"""Reads about dashboards: who may see which, and what they show."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet

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


def stream_ids_shared_with(user: Any) -> QuerySet[Widget]:
    """Return the ids of streams on dashboards shared with `user`."""
    return Widget.objects.filter(dashboard__shares__user=user).values("stream_id")


def stream_on_dashboard(stream_id: int, dashboard_id: int) -> bool:
    return Widget.objects.filter(dashboard_id=dashboard_id, stream_id=stream_id).exists()


def alert_events_for(user: Any, limit: int = 50) -> QuerySet[AlertEvent]:
    return (
        AlertEvent.objects.filter(rule__owner=user)
        .select_related("rule", "rule__stream")
        .order_by("-started")[:limit]
    )


def shared_stream_filter(user: Any) -> Q:
    """Return a Stream filter for streams the user sees through shared dashboards."""
    return Q(pk__in=stream_ids_shared_with(user))


def dashboard_widgets(dashboard: Dashboard) -> QuerySet[Widget]:
    """Return the dashboard's widgets with their streams, top to bottom."""
    return dashboard.widgets.select_related("stream").order_by("y", "x", "id")


def dashboard_shares(dashboard: Dashboard) -> QuerySet[DashboardShare]:
    return dashboard.shares.select_related("user").order_by("user__username")


def alert_rules_of(user: Any) -> QuerySet[AlertRule]:
    return AlertRule.objects.filter(owner=user).select_related("stream").order_by("name", "id")
