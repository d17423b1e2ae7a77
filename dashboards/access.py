"""What dashboards add to the stream access rule: shares with users and secret links.

A dashboard grants the streams it shows — each widget's stream and each of its
further series' streams — that its owner reads directly (public, the owner's
own, or any while the owner is active staff), never what the owner was granted. Registered with `streams.access` in `DashboardsConfig.ready()`.
"""

from __future__ import annotations

from typing import Any

from django.db.models import F, Q, QuerySet

from dashboards.models import Dashboard, Widget, WidgetSeries
from streams.access import Grants


def widgets_granting() -> QuerySet[Widget]:
    """Return the widgets whose stream their dashboard's owner reads directly."""
    owner_reads = (
        Q(stream__is_public=True)
        | Q(stream__owner=F("dashboard__owner"))
        | Q(dashboard__owner__is_staff=True)
    )
    return Widget.objects.filter(owner_reads, dashboard__owner__is_active=True)


def series_granting() -> QuerySet[WidgetSeries]:
    """Return the further series whose stream their dashboard's owner reads directly."""
    owner_reads = (
        Q(stream__is_public=True)
        | Q(stream__owner=F("widget__dashboard__owner"))
        | Q(widget__dashboard__owner__is_staff=True)
    )
    return WidgetSeries.objects.filter(owner_reads, widget__dashboard__owner__is_active=True)


def shared_stream_filter(user: Any) -> Q:
    """Return a Stream filter for what dashboards shared with `user` grant."""
    widgets = widgets_granting().filter(dashboard__shares__user=user)
    series = series_granting().filter(widget__dashboard__shares__user=user)
    return Q(pk__in=widgets.values("stream_id")) | Q(pk__in=series.values("stream_id"))


def link_stream_filter(dashboard_id: int) -> Q:
    """Return a Stream filter for what a dashboard's secret link grants."""
    widgets = widgets_granting().filter(
        dashboard_id=dashboard_id, dashboard__link_token__isnull=False
    )
    series = series_granting().filter(
        widget__dashboard_id=dashboard_id, widget__dashboard__link_token__isnull=False
    )
    return Q(pk__in=widgets.values("stream_id")) | Q(pk__in=series.values("stream_id"))


def link_dashboard_id(token: str) -> int | None:
    """Return the id of the dashboard whose secret link is `token`, or None."""
    if not token or len(token) > 64 or not token.isascii() or not token.isprintable():
        return None
    return Dashboard.objects.filter(link_token=token).values_list("pk", flat=True).first()


DASHBOARD_GRANTS = Grants(
    shared_with=shared_stream_filter,
    link_streams=link_stream_filter,
    link_of=link_dashboard_id,
)
