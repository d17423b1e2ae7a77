"""What a live socket does when access changes under it: drop what was lost, or close.

Every change of access is an event (streams/signals.py, dashboards/signals.py);
each socket also checks again every PULSEBOARD_ACCESS_RECHECK_SECONDS, a net for
what no event announces, such as a session that expired.
"""

from __future__ import annotations

import asyncio
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
    encode,
    link_group,
    unsubscribed_frame,
)
from streams.live.protocol import CLOSE_ACCESS_REVOKED, CLOSE_SESSION_ENDED, ProtocolError
from streams.live.sockets import FanoutConsumer


class AccessEvents(FanoutConsumer):
    """Handlers of the access messages, a base of the live consumer."""

    subscriptions: dict[str, Any]
    user: Any
    signed_in: bool
    link_dashboard: int | None
    personal_groups: list[str]
    recheck_timer: asyncio.TimerHandle | None = None
    # The live consumer's own, used here.
    leave_stream: Callable[[str], Awaitable[None]]
    send_error: Callable[[ProtocolError], Awaitable[None]]

    def arm_recheck(self) -> None:
        self.recheck_timer = asyncio.get_running_loop().call_later(
            settings.PULSEBOARD_ACCESS_RECHECK_SECONDS, self.recheck_due
        )

    def recheck_due(self) -> None:
        self.rechecking = asyncio.ensure_future(self.access_recheck())
        self.arm_recheck()

    async def access_recheck(self) -> None:
        """Close if the credential ended; else drop every subscription this viewer lost."""
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
            _, allowed = await database_sync_to_async(stream_for_viewer)(
                slug, self.user, self.link_dashboard
            )
            if not allowed and slug in self.subscriptions:
                del self.subscriptions[slug]
                await self.leave_stream(slug)
                await self.send_error(
                    ProtocolError("forbidden", f"Your access to {slug!r} was revoked.")
                )
                await self.send(text_data=encode(unsubscribed_frame(slug)))

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
