"""Who may do what with a stream: the one rule, for pages, the API, sockets and alerts.

A signed-in, active user reads a stream *directly* when it is public, theirs,
or they are staff. They also read it through a grant: a dashboard shared with
them that shows it, and whose owner reads it directly. A grant never passes on
what its giver was granted, so a re-share of a shared stream gives nothing.
Grants come from the user plane (dashboards shared with a user or by a secret
link), which registers them at startup with `access_grants_add`, so this module
never imports it. Only direct readers may put a stream on a dashboard or an
alert; control (start, stop, push) is the owner's or staff's alone.

A *derived* stream's source reads other streams (a replay reads one's history).
It obeys the rule for as long as it runs: its owner must read every stream it
reads directly, or it stops; it may be public only while those are all public.
An ownerless stream is the operator's (made in the admin or by a command) and,
like staff, reads any stream, but is public only on the same terms.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Exists, Q, QuerySet, Subquery

from streams.access_versions import access_versions_bump
from streams.messages import (
    PRODUCERS_GROUP,
    Outgoing,
    ProducerReconcileMessage,
    StreamStatusMessage,
    access_changed_message,
    stream_group,
)
from streams.metrics import metric_set
from streams.models import Stream
from streams.sources import SOURCES


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


# -- derived streams ------------------------------------------------------------

# The `by` of the `status` frame that says a derived stream was stopped because
# its owner no longer reads what it reads.
STOPPED_BY_RULE = "system"
# A derived stream made private may itself be read by another: bounded, for cycles.
MAX_REIN_PASSES = 8


def derived_kinds() -> list[str]:
    """Return the source kinds that read other streams (their settings name one)."""
    return [kind for kind, cls in SOURCES.items() if cls.stream_settings]


def kind_reads(kind: str, settings: Any) -> tuple[str, ...]:
    """Return the slugs of the streams a source of `kind` with `settings` reads."""
    cls = SOURCES.get(kind)
    return cls.streams_read(settings) if cls is not None else ()


def stream_reads(stream: Stream) -> tuple[str, ...]:
    """Return the slugs of the streams the stream's source reads (none unless it is derived)."""
    return kind_reads(stream.source_kind, stream.source_settings)


def streams_by_slug(slugs: Iterable[str]) -> dict[str, Stream]:
    """Return the streams with these slugs (those that exist), by slug."""
    wanted = set(slugs)
    if not wanted:
        return {}
    return {stream.slug: stream for stream in Stream.objects.filter(slug__in=wanted)}


def derived_unread(owner: Any, reads: Iterable[str], sources: dict[str, Stream]) -> str | None:
    """Return the first of `reads` that a derived stream of `owner`'s may not read, or None.

    A stream that does not exist is not read either. `owner` None: the operator's.
    """
    for slug in reads:
        source = sources.get(slug)
        if source is None or (owner is not None and not stream_readable_directly(source, owner)):
            return slug
    return None


def derived_not_public(reads: Iterable[str], sources: dict[str, Stream]) -> str | None:
    """Return the first of `reads` that is not a public stream, or None when all are."""
    for slug in reads:
        source = sources.get(slug)
        if source is None or not source.is_public:
            return slug
    return None


def derived_start_refusal(stream_id: int) -> str | None:
    """Return why the stream may not start (its owner does not read what it reads), or None."""
    stream = Stream.objects.select_related("owner").filter(pk=stream_id).first()
    if stream is None:
        return None
    reads = stream_reads(stream)
    unread = derived_unread(stream.owner, reads, streams_by_slug(reads))
    if unread is None:
        return None
    return (
        f"{stream.slug!r} may not start: it reads {unread!r}, "
        "which is not a stream its owner reads directly."
    )


def streams_derived_may_read(stream_id: int) -> QuerySet[Stream]:
    """Return the streams the derived stream `stream_id` may read now: its owner's direct reads.

    The same rule as `streams_readable_directly_by`, with everything it depends on
    (the stream's owner, whether they are active or staff, each stream's owner and
    publicity) read inside the query, so a read filtered by it follows what is
    committed at that moment, whatever event was missed.
    """
    owner_id = Subquery(Stream.objects.filter(pk=stream_id).order_by().values("owner_id")[:1])
    owner = get_user_model().objects.filter(pk=owner_id, is_active=True).order_by()
    ownerless = Stream.objects.filter(pk=stream_id, owner__isnull=True).order_by()
    reads_directly = (
        Q(is_public=True) | Q(owner_id=owner_id) | Q(Exists(owner.filter(is_staff=True)))
    )
    return Stream.objects.filter(Q(Exists(ownerless)) | (Q(Exists(owner)) & reads_directly))


def derived_stream_stop(stream_id: int, slug: str) -> list[Outgoing]:
    """Stop a derived stream its owner may no longer run; return the news (none if it was stopped)."""
    if not Stream.objects.filter(pk=stream_id, running=True).update(running=False):
        return []
    metric_set("pulseboard_stream_running", 0, stream=slug)
    status: StreamStatusMessage = {
        "type": "stream.status",
        "stream": slug,
        "running": False,
        "by": STOPPED_BY_RULE,
        "origin": "",
    }
    reconcile: ProducerReconcileMessage = {"type": "producer.reconcile"}
    return [(stream_group(slug), status), (PRODUCERS_GROUP, reconcile)]


def derived_streams_rein(*, owner_id: int | None = None) -> list[Outgoing]:
    """Bring every derived stream back within the rule; return the news for watchers and producers.

    A running one whose owner does not read all it reads directly stops; a
    public one that reads a stream that is not public becomes private (and its
    watchers check their rights again). `owner_id`: only that user's, at first —
    a stream made private may be read by others' derived streams, checked next.
    """
    outgoing: list[Outgoing] = []
    for _ in range(MAX_REIN_PASSES):
        news = _rein_pass(owner_id)
        if not news:
            break
        outgoing += news
        owner_id = None
    return outgoing


def _rein_pass(owner_id: int | None) -> list[Outgoing]:
    derived = Stream.objects.filter(source_kind__in=derived_kinds()).filter(
        Q(running=True) | Q(is_public=True)
    )
    if owner_id is not None:
        derived = derived.filter(owner_id=owner_id)
    streams = list(derived.select_related("owner"))
    if not streams:
        return []
    sources = streams_by_slug(slug for stream in streams for slug in stream_reads(stream))
    outgoing: list[Outgoing] = []
    for stream in streams:
        reads = stream_reads(stream)
        if stream.running and derived_unread(stream.owner, reads, sources) is not None:
            outgoing += derived_stream_stop(stream.pk, stream.slug)
        if (
            stream.is_public
            and derived_not_public(reads, sources) is not None
            and Stream.objects.filter(pk=stream.pk, is_public=True).update(is_public=False)
        ):
            # An update() sends no signal: mark the change for the processes' sweeps too.
            access_versions_bump([stream_group(stream.slug)])
            outgoing.append((stream_group(stream.slug), access_changed_message()))
    return outgoing
