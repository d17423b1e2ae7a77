"""The access net of a web process: one read an interval finds the sockets whose rights changed.

Access events close or re-check the sockets concerned at once (streams/signals.py,
dashboards/signals.py). Under them, each web process sweeps its /ws/live/
sockets every PULSEBOARD_ACCESS_RECHECK_SECONDS with one query, which returns:

- the access versions changed since its last look: every event bumps the version
  of the group it was sent to (streams/access_versions.py), so a process that
  missed the message still finds the mark;
- the rows its sockets stand on: their users (active, staff, password), API
  tokens and sessions (with their expiry), and the streams they watch (public,
  owner, slug), so a change written past Django's signals (a queryset
  `update()`, raw SQL) is found as well.

Only a socket whose rows differ from what it last read, or that belongs to a
group whose version moved since, re-checks (its own 1 + N queries); the others
cost nothing. A session that expires before the next sweep gets a timer at its
expiry date, so sessions close when they end, each at its own moment.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import import_module
from typing import Any, Protocol

from channels.db import database_sync_to_async
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore
from django.db.models import (
    BigIntegerField,
    DateTimeField,
    Expression,
    F,
    IntegerField,
    QuerySet,
    TextField,
    Value,
)
from django.db.models.functions import Cast

from streams.batches import per_loop
from streams.models import AccessVersion, ApiToken, Stream

log = logging.getLogger(__name__)

# A version stamped up to this long after a socket read its rights may not be in
# what it read: a handshake's reads come before the socket is counted, and web
# processes' clocks differ a little. Such a socket re-checks (once more at worst).
MARGIN_SECONDS = 5.0
# The process's sweeps are spread by this fraction of the interval, so the web
# processes of a cluster do not read together.
SWEEP_JITTER = 0.1

UserState = tuple[bool, bool, str]  # is_active, is_staff, password (its hash)
StreamState = tuple[bool, int | None, str]  # is_public, owner id, slug


@dataclass(frozen=True)
class Standing:
    """What one socket's rights rest on, as it last read them."""

    user_id: int | None = None
    user: UserState | None = None
    session_key: str | None = None
    token_id: int | None = None
    streams: dict[int, StreamState] = field(default_factory=dict)
    groups: tuple[str, ...] = ()
    read_at: float = 0.0  # wall-clock seconds


@dataclass
class Found:
    """What the sweep's one query found."""

    versions: dict[str, float] = field(default_factory=dict)  # group → changed at
    users: dict[int, UserState] = field(default_factory=dict)
    streams: dict[int, StreamState] = field(default_factory=dict)
    sessions: dict[str, float] = field(default_factory=dict)  # key → expires at
    sessions_read: bool = False  # False when sessions are kept outside the database
    tokens: set[int] = field(default_factory=set)


class Watched(Protocol):
    """A socket the sweep looks after."""

    def standing(self) -> Standing: ...

    def recheck_soon(self) -> bool: ...

    def session_expires(self, when: float) -> None: ...


def sessions_in_database() -> bool:
    """Return whether sessions live in the database, where the sweep can read them."""
    store = import_module(settings.SESSION_ENGINE).SessionStore
    return issubclass(store, DatabaseSessionStore)


# -- the one query ----------------------------------------------------------------

TEXT = TextField()
COLUMNS = ("sweep_kind", "sweep_ident", "sweep_flag", "sweep_number", "sweep_text", "sweep_moment")


def _flag(name: str) -> Expression:
    return Cast(name, IntegerField())


def _part(
    queryset: QuerySet[Any],
    kind: str,
    ident: str,
    *,
    flag: Any = None,
    number: Any = None,
    text: Any = None,
    moment: Any = None,
) -> QuerySet[Any]:
    """Return one SELECT of the sweep's union, its columns cast alike on every database."""
    return (
        queryset.order_by()
        .annotate(
            sweep_kind=Value(kind, output_field=TEXT),
            sweep_ident=Cast(ident, TEXT),
            sweep_flag=flag if flag is not None else Value(0, output_field=IntegerField()),
            sweep_number=number if number is not None else Cast(Value(None), BigIntegerField()),
            sweep_text=text if text is not None else Cast(Value(None), TEXT),
            sweep_moment=moment if moment is not None else Cast(Value(None), DateTimeField()),
        )
        .values_list(*COLUMNS)
    )


def sweep_read(since: float, standings: Iterable[Standing]) -> Found:
    """Return the versions changed after `since` and the rows the sockets stand on, in one query."""
    users: set[int] = set()
    streams: set[int] = set()
    sessions: set[str] = set()
    tokens: set[int] = set()
    for standing in standings:
        if standing.user_id is not None:
            users.add(standing.user_id)
        streams.update(standing.streams)
        if standing.session_key is not None:
            sessions.add(standing.session_key)
        if standing.token_id is not None:
            tokens.add(standing.token_id)
    changed_after = datetime.fromtimestamp(since, UTC)
    parts = [
        _part(
            AccessVersion.objects.filter(changed_at__gt=changed_after),
            "v",
            "key",
            moment=F("changed_at"),
        )
    ]
    if users:
        parts.append(
            _part(
                get_user_model().objects.filter(pk__in=users),
                "u",
                "pk",
                flag=_flag("is_active") + 2 * _flag("is_staff"),
                text=F("password"),
            )
        )
    if streams:
        parts.append(
            _part(
                Stream.objects.filter(pk__in=streams),
                "s",
                "pk",
                flag=_flag("is_public"),
                number=F("owner_id"),
                text=F("slug"),
            )
        )
    if sessions and sessions_in_database():
        model = import_module(settings.SESSION_ENGINE).SessionStore.get_model_class()
        parts.append(
            _part(
                model.objects.filter(session_key__in=sessions),
                "k",
                "session_key",
                moment=F("expire_date"),
            )
        )
    if tokens:
        parts.append(_part(ApiToken.objects.filter(pk__in=tokens), "t", "pk"))
    query = parts[0].union(*parts[1:], all=True) if len(parts) > 1 else parts[0]
    return found_of(query, sessions_read=sessions_in_database())


def found_of(rows: Iterable[tuple[Any, ...]], *, sessions_read: bool) -> Found:
    found = Found(sessions_read=sessions_read)
    for kind, ident, flag, number, text, moment in rows:
        if kind == "v":
            found.versions[ident] = moment.timestamp()
        elif kind == "u":
            found.users[int(ident)] = (bool(flag & 1), bool(flag & 2), text)
        elif kind == "s":
            found.streams[int(ident)] = (bool(flag), number, text)
        elif kind == "k":
            found.sessions[ident] = moment.timestamp()
        elif kind == "t":
            found.tokens.add(int(ident))
    return found


# -- what each socket should do -----------------------------------------------------


def must_recheck(standing: Standing, found: Found, now: float) -> bool:
    """Return whether the rows a socket stands on, or a version of its groups, changed."""
    if standing.user_id is not None and found.users.get(standing.user_id) != standing.user:
        return True
    if standing.token_id is not None and standing.token_id not in found.tokens:
        return True
    if standing.session_key is not None and found.sessions_read:
        expires = found.sessions.get(standing.session_key)
        if expires is None or expires <= now:
            return True
    if any(found.streams.get(pk) != state for pk, state in standing.streams.items()):
        return True
    return any(
        found.versions.get(group, 0.0) + MARGIN_SECONDS > standing.read_at
        for group in standing.groups
    )


class AccessSweep:
    """This event loop's live sockets, swept once an interval."""

    def __init__(self) -> None:
        self.sockets: set[Watched] = set()
        self.task: asyncio.Task[None] | None = None
        self.wakes_at = 0.0  # monotonic; when the sleeping task sweeps next
        self.looked_at: float | None = None  # wall clock of the last sweep's start
        # Counted for tests and for docs/performance.md.
        self.sweeps = 0
        self.rechecks = 0

    def add(self, socket: Watched) -> None:
        self.sockets.add(socket)
        interval = settings.PULSEBOARD_ACCESS_RECHECK_SECONDS
        running = self.task is not None and not self.task.done()
        # A task asleep for a longer interval than today's would leave this socket unwatched.
        if running and self.wakes_at > time.monotonic() + interval * (1 + SWEEP_JITTER):
            assert self.task is not None
            self.task.cancel()
            running = False
        if not running:
            self.task = asyncio.ensure_future(self.run())

    def discard(self, socket: Watched) -> None:
        self.sockets.discard(socket)

    async def run(self) -> None:
        while self.sockets:
            interval = settings.PULSEBOARD_ACCESS_RECHECK_SECONDS
            delay = interval * random.uniform(1 - SWEEP_JITTER, 1 + SWEEP_JITTER)
            self.wakes_at = time.monotonic() + delay
            await asyncio.sleep(delay)
            if not self.sockets:
                break
            try:
                await self.sweep()
            except Exception:
                log.exception("the access sweep failed; the next one tries again")

    async def sweep(self) -> None:
        """Read once; tell each socket whose rights moved to re-check, and each session ending soon."""
        sockets = list(self.sockets)
        standings = [socket.standing() for socket in sockets]
        started = time.time()
        since = min(standing.read_at for standing in standings)
        interval = settings.PULSEBOARD_ACCESS_RECHECK_SECONDS
        if self.looked_at is not None:
            # A version stamped in a transaction that committed after the last look
            # is older than it: look back an interval more.
            since = max(since, self.looked_at - interval)
        found = await database_sync_to_async(sweep_read)(since - MARGIN_SECONDS, standings)
        self.looked_at = started
        self.sweeps += 1
        now = time.time()
        horizon = now + interval * (1 + SWEEP_JITTER)
        for socket, standing in zip(sockets, standings, strict=True):
            if socket not in self.sockets:
                continue  # it left while the sweep read
            if must_recheck(standing, found, now):
                self.rechecks += socket.recheck_soon()
            elif standing.session_key is not None:
                expires = found.sessions.get(standing.session_key)
                if expires is not None and expires < horizon:
                    socket.session_expires(expires)


# The running loop's sweep (a socket belongs to one loop).
access_sweep = per_loop(AccessSweep)
