"""What a live socket does when access changes under it: drop what was lost, or close.

Every change of access is an event (streams/signals.py, dashboards/signals.py)
that the sockets concerned act on at once. Under the events, the web process's
sweep (streams/live/access_sweep.py) reads once an interval what its sockets'
rights rest on and has only those whose rows or groups changed check again; a
session ending before the next sweep gets a timer at its expiry. A socket whose
access rests on a dashboard — a share or a secret link, held in the user plane's
tables the sweep does not read — also checks again on its own, at a random
moment, every PULSEBOARD_ACCESS_GRANT_RECHECK_SECONDS on average.
"""

from __future__ import annotations

import asyncio
import math
import random
import time
from collections.abc import Awaitable, Callable
from typing import Any

from channels.db import database_sync_to_async
from django.conf import settings

from streams.access import link_of, stream_for_viewer
from streams.auth import scope_user_now, session_end_reaches, token_revocation_reaches
from streams.contract import (
    AccessChangedMessage,
    AccessRevokedMessage,
    SessionEndedMessage,
    TokenRevokedMessage,
    access_changed_message,
    encode,
    link_group,
    stream_group,
    unsubscribed_frame,
)
from streams.live.access_sweep import Standing, access_sweep, sessions_in_database
from streams.live.protocol import CLOSE_ACCESS_REVOKED, CLOSE_SESSION_ENDED, ProtocolError
from streams.live.sockets import FanoutConsumer


class AccessEvents(FanoutConsumer):
    """Handlers of the access messages, and the socket's side of the sweep; a base of the live consumer."""

    # slug → Subscription (streams/live/catchup.py): stream_id, slug, is_public,
    # owner_id as last read, and whether the viewer reads it directly.
    subscriptions: dict[str, Any]
    user: Any
    signed_in: bool
    link_dashboard: int | None
    personal_groups: list[str]
    rights_read_at = 0.0  # wall clock: when this socket last read its rights
    own_net_timer: asyncio.TimerHandle | None = None
    expiry_timer: asyncio.TimerHandle | None = None
    expiry_due = math.inf
    # The live consumer's own, used here.
    leave_stream: Callable[[str], Awaitable[None]]
    send_error: Callable[[ProtocolError], Awaitable[None]]

    # -- the sweep's side --------------------------------------------------------

    def access_watch(self) -> None:
        """Have the process's sweep look after this socket (and its own net, if it needs one)."""
        access_sweep().add(self)
        self.arm_own_net()

    def access_unwatch(self) -> None:
        access_sweep().discard(self)
        for timer in (self.own_net_timer, self.expiry_timer):
            if timer is not None:
                timer.cancel()

    def session_key(self) -> str | None:
        """Return the key of the browser session this socket signed in with, or None."""
        if not self.signed_in or self.scope.get("auth_method") == "token":
            return None
        return getattr(self.scope.get("session"), "session_key", None)

    def standing(self) -> Standing:
        """Return what this socket's rights rest on, as it last read them."""
        user = self.user if self.signed_in else None
        token = self.scope.get("token_id") if self.scope.get("auth_method") == "token" else None
        return Standing(
            user_id=user.pk if user is not None else None,
            user=(bool(user.is_active), bool(user.is_staff), user.password) if user else None,
            session_key=self.session_key(),
            token_id=token,
            streams={
                s.stream_id: (s.is_public, s.owner_id, s.slug) for s in self.subscriptions.values()
            },
            groups=(*self.personal_groups, *map(stream_group, self.subscriptions)),
            read_at=self.rights_read_at,
        )

    def recheck_soon(self) -> None:
        """Check again in this socket's own order (after the subscribes under way), as on an event."""
        if getattr(self, "released", False):
            return
        if self.inbox is not None:
            try:
                self.inbox.put_nowait((math.inf, dict(access_changed_message())))
                return
            except asyncio.QueueFull:
                pass  # a socket that far behind checks beside its queue
        self.rechecking = asyncio.ensure_future(self.access_recheck())

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
        if any(not subscription.direct for subscription in self.subscriptions.values()):
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

    async def access_recheck(self) -> None:
        """Close if the credential ended; else drop every subscription this viewer lost."""
        self.rights_read_at = time.time()
        if self.signed_in:
            user = await database_sync_to_async(scope_user_now)(self.scope)
            if user is None:
                await self.close(code=CLOSE_SESSION_ENDED)
                return
            self.user = user  # staff or not, as of now
        if self.link_dashboard is not None:
            link = await database_sync_to_async(link_of)(self.scope.get("link_token", ""))
            if link != self.link_dashboard:
                await self.link_lost()
                return
        for slug in list(self.subscriptions):
            stream, allowed = await database_sync_to_async(stream_for_viewer)(
                slug, self.user, self.link_dashboard
            )
            subscription = self.subscriptions.get(slug)
            if subscription is None:
                continue  # unsubscribed meanwhile
            if allowed and stream is not None:
                subscription.note_rights(stream, self.user)
                continue
            del self.subscriptions[slug]
            await self.leave_stream(slug)
            await self.send_error(
                ProtocolError("forbidden", f"Your access to {slug!r} was revoked.")
            )
            await self.send(text_data=encode(unsubscribed_frame(slug)))
        self.arm_own_net()

    async def link_lost(self) -> None:
        """The secret link this socket came through is gone: a signed-in holder keeps the rest."""
        if not self.signed_in:
            await self.close(code=CLOSE_ACCESS_REVOKED)
            return
        if self.link_dashboard is not None:
            group = link_group(self.link_dashboard)
            await self.channel_layer.group_discard(group, self.channel_name)
            self.personal_groups.remove(group)
        self.link_dashboard = None
        await self.access_recheck()

    async def access_changed(self, event: AccessChangedMessage) -> None:
        await self.access_recheck()

    async def access_revoked(self, event: AccessRevokedMessage) -> None:
        """The link this socket came through was revoked or replaced."""
        await self.link_lost()

    async def session_ended(self, event: SessionEndedMessage) -> None:
        """Logout closes that session's sockets; a new password closes all of the user's."""
        if session_end_reaches(self.scope, event):
            await self.close(code=CLOSE_SESSION_ENDED)

    async def token_revoked(self, event: TokenRevokedMessage) -> None:
        """The API token this socket signed in with was deleted."""
        if token_revocation_reaches(self.scope, event):
            await self.close(code=CLOSE_SESSION_ENDED)
