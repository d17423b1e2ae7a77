"""What dashboards add to the stream access rule: shares with users and secret links.

Registered with `streams.access` in `DashboardsConfig.ready()`.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q

from dashboards.models import Dashboard, Widget
from streams.access import Grants


def shared_stream_filter(user: Any) -> Q:
    """Return a Stream filter for streams on dashboards shared with `user`."""
    return Q(pk__in=Widget.objects.filter(dashboard__shares__user=user).values("stream_id"))


def link_stream_filter(dashboard_id: int) -> Q:
    """Return a Stream filter for the streams a dashboard's secret link shows."""
    return Q(pk__in=Widget.objects.filter(dashboard_id=dashboard_id).values("stream_id"))


def link_dashboard_id(token: str) -> int | None:
    """Return the id of the dashboard whose secret link is `token`, or None."""
    if not token or len(token) > 64:
        return None
    return Dashboard.objects.filter(link_token=token).values_list("pk", flat=True).first()


DASHBOARD_GRANTS = Grants(
    shared_with=shared_stream_filter,
    link_streams=link_stream_filter,
    link_of=link_dashboard_id,
)
