"""Reads about dashboards: who may see which, and what they show."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.urls import reverse

from dashboards.models import Dashboard, DashboardShare, Widget


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


def dashboard_widgets(dashboard: Dashboard) -> QuerySet[Widget]:
    """Return the dashboard's widgets with their streams, top to bottom."""
    return dashboard.widgets.select_related("stream").order_by("y", "x", "id")


def dashboard_shares(dashboard: Dashboard) -> QuerySet[DashboardShare]:
    return dashboard.shares.select_related("user").order_by("user__username")


def board_showing(owner_id: int, stream_id: int) -> str | None:
    """Return the path of the owner's first dashboard that shows the stream (alert notices link there)."""
    board = (
        Widget.objects.filter(dashboard__owner_id=owner_id, stream_id=stream_id)
        .order_by("dashboard__position", "dashboard_id")
        .values_list("dashboard_id", flat=True)
        .first()
    )
    return None if board is None else reverse("dashboard", args=[board])
