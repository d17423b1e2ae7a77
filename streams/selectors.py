"""Reads about streams and who may do what with them."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet

from dashboards.models import Widget
from dashboards.selectors import shared_stream_filter, stream_on_dashboard
from streams.models import Stream


def streams_readable_by(user: Any) -> QuerySet[Stream]:
    """Return the streams `user` may watch: public, their own, shared with them; all for staff."""
    if not user.is_authenticated:
        return Stream.objects.none()
    if user.is_staff:
        return Stream.objects.all()
    return Stream.objects.filter(Q(is_public=True) | Q(owner=user) | shared_stream_filter(user))


def stream_can_read(stream: Stream, user: Any) -> bool:
    """Return whether `user` may watch: public, theirs, on a dashboard shared with them, or staff."""
    if not user.is_authenticated:
        return False
    if user.is_staff or stream.is_public or stream.owner_id == user.pk:
        return True
    return Widget.objects.filter(stream=stream, dashboard__shares__user=user).exists()


def stream_can_control(stream: Stream, user: Any) -> bool:
    """Return whether `user` may start and stop the stream's source: its owner or staff."""
    return bool(user.is_authenticated and (user.is_staff or stream.owner_id == user.pk))


def stream_by_slug(slug: str) -> Stream | None:
    return Stream.objects.filter(slug=slug).first()


def stream_for_viewer(
    slug: str, user: Any, link_dashboard: int | None
) -> tuple[Stream | None, bool]:
    """Return the stream and whether this viewer may watch it (a link holder: if it is on the linked dashboard)."""
    stream = stream_by_slug(slug)
    if stream is None:
        return None, False
    if stream_can_read(stream, user):
        return stream, True
    linked = link_dashboard is not None and stream_on_dashboard(stream.pk, link_dashboard)
    return stream, linked
