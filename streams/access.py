"""Who may do what with a stream: the one rule, for pages, the API, sockets and alerts.

A signed-in, active user reads a stream *directly* when it is public, theirs,
or they are staff. They also read it through a grant: a dashboard shared with
them that shows it, and whose owner reads it directly. A grant never passes on
what its giver was granted, so a re-share of a shared stream gives nothing.
Grants come from the user plane (dashboards shared with a user or by a secret
link), which registers them at startup with `access_grants_add`, so this module
never imports it. Only direct readers may put a stream on a dashboard or an
alert; control (start, stop, push) is the owner's or staff's alone.
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
    turns a link's token into its id, or None when there is no such link. Each
    grants only streams that whoever gave it reads directly.
    """

    shared_with: Callable[[Any], Q]
    link_streams: Callable[[int], Q]
    link_of: Callable[[str], int | None]


_grants: list[Grants] = []


def access_grants_add(grants: Grants) -> None:
    """Add the user plane's grants to the rule (once, at startup)."""
    if grants not in _grants:
        _grants.append(grants)


def _signed_in(user: Any) -> bool:
    return bool(user is not None and user.is_authenticated and user.is_active)


def streams_readable_directly_by(user: Any) -> QuerySet[Stream]:
    """Return the streams `user` reads in their own right: public, their own; all for staff.

    These are what they may put on a dashboard, share, or set an alert on.
    """
    if not _signed_in(user):
        return Stream.objects.none()
    if user.is_staff:
        return Stream.objects.all()
    return Stream.objects.filter(Q(is_public=True) | Q(owner=user))


def stream_readable_directly(stream: Stream, user: Any) -> bool:
    """Return whether `user` reads the stream in their own right (public, theirs, or staff)."""
    if not _signed_in(user):
        return False
    return bool(user.is_staff or stream.is_public or stream.owner_id == user.pk)


def streams_readable_by(user: Any) -> QuerySet[Stream]:
    """Return the streams `user` may watch: those they read directly, and those granted to them."""
    if not _signed_in(user) or user.is_staff:
        return streams_readable_directly_by(user)
    rule = Q(is_public=True) | Q(owner=user)
    for grants in _grants:
        rule |= grants.shared_with(user)
    return Stream.objects.filter(rule)


def stream_can_read(stream: Stream, user: Any) -> bool:
    """Return whether `user` may watch: they read it directly, or it is granted to them."""
    if stream_readable_directly(stream, user):
        return True
    if not _signed_in(user):
        return False
    return any(
        Stream.objects.filter(grants.shared_with(user), pk=stream.pk).exists() for grants in _grants
    )


def stream_can_control(stream: Stream, user: Any) -> bool:
    """Return whether `user` may start and stop the stream's source, or push to it."""
    return bool(_signed_in(user) and (user.is_staff or stream.owner_id == user.pk))


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
