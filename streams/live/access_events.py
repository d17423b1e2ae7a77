"""What a live socket does when access changes under it: drop what was lost, or close."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from channels.db import database_sync_to_async

from streams.access import stream_for_viewer
from streams.contract import (
    AccessChangedMessage,
    AccessRevokedMessage,
    SessionEndedMessage,
    encode,
    unsubscribed_frame,
)
from streams.live.protocol import CLOSE_ACCESS_REVOKED, CLOSE_SESSION_ENDED, ProtocolError
from streams.live.sockets import FanoutConsumer


class AccessEvents(FanoutConsumer):
    """Handlers of the access messages, a base of the live consumer."""

    subscriptions: dict[str, Any]
    user: Any
    link_dashboard: int | None
    # The live consumer's own, used here.
    leave_stream: Callable[[str], Awaitable[None]]
    send_error: Callable[[ProtocolError], Awaitable[None]]

    async def access_changed(self, event: AccessChangedMessage) -> None:
        """A share was removed: drop, at once, every subscription this viewer lost."""
        for slug in list(self.subscriptions):
            _, allowed = await database_sync_to_async(stream_for_viewer)(
                slug, self.user, self.link_dashboard
            )
            if not allowed:
                del self.subscriptions[slug]
                await self.leave_stream(slug)
                await self.send_error(
                    ProtocolError("forbidden", f"Your access to {slug!r} was revoked.")
                )
                await self.send(text_data=encode(unsubscribed_frame(slug)))

    async def session_ended(self, event: SessionEndedMessage) -> None:
        """Logout closes that session's sockets; a new password closes all of the user's."""
        session = self.scope.get("session")
        mine = (
            getattr(session, "session_key", None)
            if self.scope.get("auth_method") != "token"
            else None
        )
        if event["session"] is None or (mine is not None and event["session"] == mine):
            await self.close(code=CLOSE_SESSION_ENDED)

    async def access_revoked(self, event: AccessRevokedMessage) -> None:
        """The link this socket came through was revoked."""
        await self.close(code=CLOSE_ACCESS_REVOKED)
