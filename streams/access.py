"""Who may do what with a stream: the one rule, for pages, the API, sockets and alerts.

A viewer reads a stream when they own it, it is public, they are staff, or a
grant says so. Grants come from the user plane (dashboards shared with a user or
by a secret link), which registers them at startup with `access_grants_add`, so
this module never imports it. Control (start, stop, push) is the owner's or
staff's alone.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet

from streams.models import Stream


@dataclass(frozen=True)
class Grants:
    """What the user plane adds to the rule.

    `shared_with(user)` is a Stream filter for the streams shared with a user;
    `link_streams(link)` one for the streams a secret link shows; `link_of(token)`
    turns a link's token into its id, or None when there is no such link.
    """

    shared_with: Callable[[Any], Q]
    link_streams: Callable[[int], Q]
    link_of: Callable[[str], int | None]


_grants: list[Grants] = []


def access_grants_add(grants: Grants) -> None:
    """Add the user plane's grants to the rule (once, at startup)."""
    if grants not in _grants:
        _grants.append(grants)


def _direct(user: Any) -> Q:
    return Q(is_public=True) | Q(owner=user)


def streams_readable_by(user: Any) -> QuerySet[Stream]:
    """Return the streams `user` may watch: public, their own, shared with them; all for staff."""
    if not user.is_authenticated:
        return Stream.objects.none()
    if user.is_staff:
        return Stream.objects.all()
    rule = _direct(user)
    for grants in _grants:
        rule |= grants.shared_with(user)
    return Stream.objects.filter(rule)


def stream_can_read(stream: Stream, user: Any) -> bool:
    """Return whether `user` may watch: public, theirs, shared with them, or staff."""
    if not user.is_authenticated:
        return False
    if user.is_staff or stream.is_public or stream.owner_id == user.pk:
        return True
    return any(
        Stream.objects.filter(grants.shared_with(user), pk=stream.pk).exists() for grants in _grants
    )


def stream_can_control(stream: Stream, user: Any) -> bool:
    """Return whether `user` may start and stop the stream's source: its owner or staff."""
    return bool(user.is_authenticated and (user.is_staff or stream.owner_id == user.pk))


def stream_by_slug(slug: str) -> Stream | None:
    return Stream.objects.filter(slug=slug).first()


def stream_for_viewer(slug: str, user: Any, link: int | None) -> tuple[Stream | None, bool]:
    """Return the stream and whether this viewer may watch it (a link holder: if the link shows it)."""
    stream = stream_by_slug(slug)
    if stream is None:
        return None, False
    if stream_can_read(stream, user):
        return stream, True
    linked = link is not None and any(
        Stream.objects.filter(grants.link_streams(link), pk=stream.pk).exists()
        for grants in _grants
    )
    return stream, linked


def link_of(token: str) -> int | None:
    """Return the id of the secret link `token` opens, or None."""
    for grants in _grants:
        link = grants.link_of(token)
        if link is not None:
            return link
    return None
