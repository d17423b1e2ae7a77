"""Every shape that crosses the channel layer or the socket, and where it goes.

Each channel-layer message is a `TypedDict` whose `type` is a `Literal`, built by
one function here; the frames a client receives are described beside them (the
AsyncAPI document is converted from these names) with their encoders, and the
group names say who hears what. No I/O: sending is `streams/publishing.py`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal, TypedDict

import orjson

# A stream's slug: what group names, URLs and the protocol accept.
SLUG_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,79}\Z"

PRODUCERS_GROUP = "producers"

Ref = str | int | None


# -- groups -----------------------------------------------------------------


def stream_group(slug: str) -> str:
    """Return the group of a stream's watchers: its frames, status and presence."""
    return f"stream.{slug}"


def user_group(user_id: int) -> str:
    """Return the group of a user's sockets: alerts, access changes, session ends."""
    return f"user.{user_id}"


def link_group(dashboard_id: int) -> str:
    """Return the group of the sockets opened through a dashboard's secret link."""
    return f"link.{dashboard_id}"


# -- samples ----------------------------------------------------------------


class SampleFrame(TypedDict, total=False):
    seq: int
    t: int
    values: dict[str, Any]
    flags: list[str]


def sample_frame(seq: int, t: int, values: dict, flags: Iterable[str] = ()) -> SampleFrame:
    """Return a sample as it travels in `data` frames (flags only when there are some)."""
    frame: SampleFrame = {"seq": seq, "t": t, "values": values}
    flags = list(flags)
    if flags:
        frame["flags"] = flags
    return frame


# -- frames a client receives -------------------------------------------------


class HelloFrame(TypedDict):
    type: Literal["hello"]
    user: str | None
    server_time: int
    limits: dict[str, float | int]
    protocol: int


class SubscribedFrame(TypedDict, total=False):
    type: Literal["subscribed"]
    stream: str
    title: str
    fields: list[dict[str, str]]
    running: bool
    seq: int
    ref: Ref
    recovered: bool


class UnsubscribedFrame(TypedDict):
    type: Literal["unsubscribed"]
    stream: str
    ref: Ref


class StatusFrame(TypedDict, total=False):
    type: Literal["status"]
    stream: str
    running: bool
    by: str
    ref: Ref


class PresenceFrame(TypedDict):
    type: Literal["presence"]
    stream: str
    connections: int
    users: int


class PongFrame(TypedDict):
    type: Literal["pong"]
    t: float
    server_time: int
    ref: Ref


class PublishedFrame(TypedDict, total=False):
    type: Literal["published"]
    stream: str
    count: int
    first: int
    last: int
    ref: Ref


class AlertFrame(TypedDict):
    type: Literal["alert"]
    state: Literal["firing", "resolved", "no data", "test"]
    rule: int | None
    event: int | None
    name: str
    stream: str
    field: str
    value: float | None
    t: int | None
    message: str
    reason: str  # why this notice was sent
    notify: bool  # show a browser notification (the rule names a browser contact point)


class ErrorFrame(TypedDict):
    type: Literal["error"]
    code: str
    message: str
    ref: Ref


def encode(message: Any) -> str:
    """Return the JSON text of a server frame."""
    return orjson.dumps(message).decode()


def data_frame(stream: str, samples: list[SampleFrame]) -> str:
    """Return the `data` frame for a batch, encoded once for every watcher."""
    return encode({"type": "data", "stream": stream, "samples": samples})


_presence: tuple[Any, str] = (None, "")


def presence_text(message: StreamPresenceMessage | dict[str, Any]) -> str:
    """Return the `presence` frame of a presence message, encoded once for all its watchers."""
    global _presence
    if _presence[0] is not message:
        frame: PresenceFrame = {
            "type": "presence",
            "stream": message["stream"],
            "connections": message["connections"],
            "users": message["users"],
        }
        _presence = (message, encode(frame))
    return _presence[1]


def status_frame(*, stream: str, running: bool, by: str) -> StatusFrame:
    return {"type": "status", "stream": stream, "running": running, "by": by}


def unsubscribed_frame(stream: str, ref: Ref = None) -> UnsubscribedFrame:
    return {"type": "unsubscribed", "stream": stream, "ref": ref}


# -- channel-layer messages ---------------------------------------------------


class StreamFrameMessage(TypedDict):
    """A stored batch, as a ready-encoded `data` frame, to a stream's watchers."""

    type: Literal["stream.frame"]
    stream: str
    text: str
    first: int
    last: int


class StreamStatusMessage(TypedDict):
    type: Literal["stream.status"]
    stream: str
    running: bool
    by: str
    origin: str  # the socket that asked, which has had its answer


class StreamPresenceMessage(TypedDict):
    type: Literal["stream.presence"]
    stream: str
    connections: int
    users: int


class ProducerReconcileMessage(TypedDict):
    type: Literal["producer.reconcile"]


class UserAlertMessage(TypedDict):
    type: Literal["user.alert"]
    frame: AlertFrame


class AccessChangedMessage(TypedDict):
    """Something this viewer could read may no longer be readable: check again."""

    type: Literal["access.changed"]


class AccessRevokedMessage(TypedDict):
    """The secret link these sockets came through was revoked."""

    type: Literal["access.revoked"]


class SessionEndedMessage(TypedDict):
    type: Literal["session.ended"]
    session: str | None  # None: every session of the user


class TokenRevokedMessage(TypedDict):
    """An API token was deleted: the sockets it opened close."""

    type: Literal["token.revoked"]
    token: int


class HealthCheckMessage(TypedDict):
    type: Literal["health.check"]


ChannelMessage = (
    StreamFrameMessage
    | StreamStatusMessage
    | StreamPresenceMessage
    | ProducerReconcileMessage
    | UserAlertMessage
    | AccessChangedMessage
    | AccessRevokedMessage
    | SessionEndedMessage
    | TokenRevokedMessage
    | HealthCheckMessage
)
# A message and the group it goes to, for work that decides now and sends later.
Outgoing = tuple[str, ChannelMessage]


def user_alert_message(frame: AlertFrame) -> UserAlertMessage:
    return {"type": "user.alert", "frame": frame}


def access_changed_message() -> AccessChangedMessage:
    return {"type": "access.changed"}


def access_revoked_message() -> AccessRevokedMessage:
    return {"type": "access.revoked"}


def session_ended_message(session: str | None) -> SessionEndedMessage:
    return {"type": "session.ended", "session": session}


def token_revoked_message(token_id: int) -> TokenRevokedMessage:
    return {"type": "token.revoked", "token": token_id}


def health_check_message() -> HealthCheckMessage:
    return {"type": "health.check"}
