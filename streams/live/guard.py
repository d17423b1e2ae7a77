"""A live socket's access guard: who it is, what its rights rest on, and when to check again.

Every change of access is an event (streams/signals.py, dashboards/signals.py)
that the sockets concerned act on at once: the guard checks again, and the
socket closes or drops what it lost. Under the events, the web process's sweep
(streams/live/access_sweep.py) reads once an interval what its sockets' rights
rest on (`standing`) and has only those whose rows or groups changed check
again; a session ending before the next sweep gets a timer at its expiry. A
socket whose access rests on a dashboard — a share or a secret link, in tables
the sweep does not read — also checks again on its own, at a random moment,
every PULSEBOARD_ACCESS_GRANT_RECHECK_SECONDS on average. The guard also holds
the viewer's allowance of stored samples (streams/live/allowance.py).
"""

from __future__ import annotations

import asyncio
import math
import random
import time
from typing import Any, Protocol

from channels.db import database_sync_to_async
from django.conf import settings

from streams.access import link_of, stream_for_viewer
from streams.auth import scope_user_now, session_end_reaches, token_revocation_reaches
from streams.live.access_sweep import Standing, access_sweep, sessions_in_database
from streams.live.allowance import Allowance, history_allowances
from streams.live.catchup import Subscription
from streams.live.protocol import CLOSE_ACCESS_REVOKED, CLOSE_SESSION_ENDED, ProtocolError
from streams.messages import (
    SessionEndedMessage,
    TokenRevokedMessage,
    access_changed_message,
    link_group,
    stream_group,
    user_group,
)


class Guarded(Protocol):
    """What the guard asks of its socket."""

    released: bool

    def following(self) -> dict[str, Subscription]:
        """Return the socket's subscriptions by slug."""
        ...

    def enqueue(self, message: dict[str, Any]) -> bool:
        """Put a message in the socket's own line; False when it cannot."""
        ...

    async def close(self, code: int | None = None, reason: str | None = None) -> None: ...

    async def drop(self, slug: str, error: ProtocolError) -> None:
        """Stop sending a stream, telling the client why."""
        ...

    async def leave_group(self, group: str) -> None: ...


class AccessGuard:
    """The credential and rights of one socket, as it last read them, and its re-checks."""

    own_net_timer: asyncio.TimerHandle | None = None
    expiry_timer: asyncio.TimerHandle | None = None
    expiry_due = math.inf
    rechecking: asyncio.Future[None] | None = None
    recheck_pending = False  # asked by recheck_soon, not started yet

    def __init__(self, scope: dict[str, Any]):
        self.scope = scope
        user: Any = scope.get("user")
        self.link_dashboard: int | None = scope.get("link_dashboard")
        self.signed_in = user is not None and user.is_authenticated
        self.user: Any = user
        # The handshake read the credential just now (the sweep allows for the gap).
        self.read_at = time.time()
        self.viewer = f"user:{user.pk}" if self.signed_in else f"link:{self.link_dashboard}"
        # A user's group carries alerts and access changes; a link's, its revocation.
        self.personal_groups = [user_group(user.pk)] if self.signed_in else []
        if self.link_dashboard is not None:
            self.personal_groups.append(link_group(self.link_dashboard))
        self.socket: Guarded | None = None

    def admits(self) -> bool:
        """Return whether the socket may open: a signed-in user, or a secret link's holder."""
        return self.signed_in or self.link_dashboard is not None

    def allowance(self) -> Allowance:
        """Return this viewer's allowance of stored samples (looked up each time: shared, pruned)."""
        return history_allowances.of(self.viewer)

    # -- the sweep's side ---------------------------------------------------------

    def watch(self, socket: Guarded) -> None:
        """Have the process's sweep look after this socket (and its own net, if it needs one)."""
        self.socket = socket
        access_sweep().add(self)
        self.arm_own_net()

    def unwatch(self) -> None:
        access_sweep().discard(self)
        for timer in (self.own_net_timer, self.expiry_timer):
            if timer is not None:
                timer.cancel()

    def session_key(self) -> str | None:
        """Return the key of the browser session this socket signed in with, or None."""
        if not self.signed_in or self.scope.get("auth_method") == "token":
            return None
        return getattr(self.scope.get("session"), "session_key", None)

    def following(self) -> dict[str, Subscription]:
        return self.socket.following() if self.socket is not None else {}

    def standing(self) -> Standing:
        """Return what this socket's rights rest on, as it last read them."""
        user = self.user if self.signed_in else None
        token = self.scope.get("token_id") if self.scope.get("auth_method") == "token" else None
        following = self.following()
        return Standing(
            user_id=user.pk if user is not None else None,
            user=(bool(user.is_active), bool(user.is_staff), user.password) if user else None,
            session_key=self.session_key(),
            token_id=token,
            streams={s.stream_id: (s.is_public, s.owner_id, s.slug) for s in following.values()},
            groups=(*self.personal_groups, *map(stream_group, following)),
            read_at=self.read_at,
        )

    def recheck_soon(self) -> bool:
        """Check again in the socket's own order (after the subscribes under way), as on an event.

        Return False when a check is already on its way: a busy socket gets one, not one a sweep.
        """
        socket = self.socket
        if socket is None or socket.released or self.recheck_pending:
            return False
        self.recheck_pending = True
        # A socket too far behind to queue it checks beside its queue.
        if not socket.enqueue(dict(access_changed_message())):
            self.rechecking = asyncio.ensure_future(self.recheck())
        return True

    def session_expires(self, when: float) -> None:
        """Check again when the session expires (wall clock), unless a check is due sooner."""
        if when >= self.expiry_due:
            return
        if self.expiry_timer is not None:
            self.expiry_timer.cancel()
        self.expiry_due = when
        delay = max(0.0, when - time.time())
        self.expiry_timer = asyncio.get_running_loop().call_later(delay, self.session_expired)

    def session_expired(self) -> None:
        self.expiry_timer, self.expiry_due = None, math.inf
        self.recheck_soon()

    def needs_own_net(self) -> bool:
        """Return whether this socket's access rests on what the sweep does not read."""
        if self.link_dashboard is not None:
            return True
        if any(not subscription.direct for subscription in self.following().values()):
            return True
        return self.session_key() is not None and not sessions_in_database()

    def arm_own_net(self) -> None:
        """Check again at a random moment around the grant interval, when the socket needs to."""
        if self.own_net_timer is not None or not self.needs_own_net():
            return
        delay = settings.PULSEBOARD_ACCESS_GRANT_RECHECK_SECONDS * random.uniform(0.5, 1.5)
        self.own_net_timer = asyncio.get_running_loop().call_later(delay, self.own_net_due)

    def own_net_due(self) -> None:
        self.own_net_timer = None
        self.recheck_soon()  # which arms the next one if still needed

    # -- the check ----------------------------------------------------------------

    async def recheck(self) -> None:
        """Close if the credential ended; else drop every subscription this viewer lost."""
        socket = self.socket
        if socket is None:
            return  # a socket refused at the handshake is never watched
        self.read_at, self.recheck_pending = time.time(), False
        if self.signed_in:
            user = await database_sync_to_async(scope_user_now)(self.scope)
            if user is None:
                await socket.close(code=CLOSE_SESSION_ENDED)
                return
            self.user = user  # staff or not, as of now
        if self.link_dashboard is not None:
            link = await database_sync_to_async(link_of)(self.scope.get("link_token", ""))
            if link != self.link_dashboard:
                await self.link_lost()
                return
        for slug in list(socket.following()):
            stream, allowed = await database_sync_to_async(stream_for_viewer)(
                slug, self.user, self.link_dashboard
            )
            subscription = socket.following().get(slug)
            if subscription is None:
                continue  # unsubscribed meanwhile
            if allowed and stream is not None:
                subscription.note_rights(stream, self.user)
                continue
            await socket.drop(
                slug, ProtocolError("forbidden", f"Your access to {slug!r} was revoked.")
            )
        self.arm_own_net()

    async def link_lost(self) -> None:
        """The secret link this socket came through is gone: a signed-in holder keeps the rest."""
        socket = self.socket
        if socket is None:
            return
        if not self.signed_in:
            await socket.close(code=CLOSE_ACCESS_REVOKED)
            return
        if self.link_dashboard is not None:
            group = link_group(self.link_dashboard)
            await socket.leave_group(group)
            self.personal_groups.remove(group)
        self.link_dashboard = None
        await self.recheck()

    def session_ended(self, event: SessionEndedMessage) -> bool:
        """Return whether a logout or a new password ends this socket's credential."""
        return session_end_reaches(self.scope, event)

    def token_revoked(self, event: TokenRevokedMessage) -> bool:
        """Return whether the API token this socket signed in with was deleted."""
        return token_revocation_reaches(self.scope, event)
