"""The live protocol's message shapes and validation: pure functions, no I/O.

Every problem with a client's frame becomes a `ProtocolError` whose `code` is one
of `ERROR_CODES`; the consumer turns it into an `error` frame and carries on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import orjson

from streams.messages import SLUG_PATTERN, ErrorFrame, Ref

PROTOCOL_VERSION = 1

ERROR_CODES = {
    "invalid_json": "The frame is not valid JSON text.",
    "binary_not_supported": "Binary frames are not part of the protocol.",
    "not_an_object": "Each frame must be a JSON object.",
    "missing_field": "A required field is missing.",
    "invalid_field": "A field has the wrong type or value.",
    "unknown_type": "The `type` is not a command this server knows.",
    "unknown_stream": "No stream with that slug exists.",
    "forbidden": "You may not do that with this stream.",
    "not_subscribed": "The connection is not subscribed to that stream.",
    "not_push_stream": "Only push streams accept published samples.",
    "stream_stopped": "The push stream is stopped; its owner may start it again.",
    "busy": "The database is busy; nothing was stored. Send the samples again shortly.",
    "rate_limited": "Too many commands; slow down.",
    "too_large": "The frame is larger than the limit.",
    "too_many": "The connection is at its subscription limit.",
    "internal": "The server could not complete the command.",
}

# Close codes of /ws/live/, documented in docs/protocol.md.
CLOSE_IDLE = 4008
CLOSE_TOO_MANY_CONNECTIONS = 4029
CLOSE_FLOOD = 4030
CLOSE_SESSION_ENDED = 4001
CLOSE_ACCESS_REVOKED = 4003
# RFC 6455's registry: the server is up but cannot serve now (the channel layer is away).
CLOSE_TRY_AGAIN_LATER = 1013

COMMAND_TYPES = ("subscribe", "unsubscribe", "start", "stop", "ping", "publish")
SLUG_RE = re.compile(SLUG_PATTERN)
MAX_REF_LENGTH = 64


class ProtocolError(Exception):
    def __init__(self, code: str, message: str, ref: Ref = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.ref = ref


@dataclass(frozen=True, slots=True)
class Subscribe:
    stream: str
    since: int | None
    backfill: int
    ref: Ref


@dataclass(frozen=True, slots=True)
class Unsubscribe:
    stream: str
    ref: Ref


@dataclass(frozen=True, slots=True)
class Control:
    stream: str
    running: bool
    ref: Ref


@dataclass(frozen=True, slots=True)
class Ping:
    t: float
    ref: Ref


@dataclass(frozen=True, slots=True)
class Publish:
    stream: str
    samples: list[Any]
    ref: Ref


Command = Subscribe | Unsubscribe | Control | Ping | Publish


def parse_command(text: str, *, max_backfill: int) -> Command:
    """Return the command in `text`, or raise ProtocolError saying what is wrong."""
    try:
        message = orjson.loads(text)
    except orjson.JSONDecodeError as error:
        raise ProtocolError("invalid_json", f"The frame is not valid JSON: {error}") from None
    if not isinstance(message, dict):
        raise ProtocolError("not_an_object", "Each frame must be a JSON object with a `type`.")
    ref = _ref(message)
    kind = message.get("type")
    if kind is None:
        raise ProtocolError("missing_field", "The frame has no `type`.", ref)
    if not isinstance(kind, str) or kind not in COMMAND_TYPES:
        shown = kind if isinstance(kind, str) and len(kind) <= 40 else "that"
        raise ProtocolError(
            "unknown_type", f"Unknown type {shown!r}; use one of {', '.join(COMMAND_TYPES)}.", ref
        )
    if kind == "ping":
        t = message.get("t", 0)
        if isinstance(t, bool) or not isinstance(t, int | float):
            raise ProtocolError("invalid_field", "`t` must be a number.", ref)
        return Ping(t, ref)
    stream = _stream(message, ref)
    if kind == "subscribe":
        since = _optional_int(message, "since", ref, low=0, high=2**62)
        backfill = _optional_int(message, "backfill", ref, low=0, high=max_backfill) or 0
        return Subscribe(stream, since, backfill, ref)
    if kind == "unsubscribe":
        return Unsubscribe(stream, ref)
    if kind in ("start", "stop"):
        return Control(stream, kind == "start", ref)
    samples = message.get("samples")
    if not isinstance(samples, list):
        raise ProtocolError("invalid_field", "`samples` must be a list.", ref)
    return Publish(stream, samples, ref)


def _ref(message: dict[str, Any]) -> Ref:
    ref = message.get("ref")
    if isinstance(ref, str) and len(ref) <= MAX_REF_LENGTH:
        return ref
    if isinstance(ref, int) and not isinstance(ref, bool):
        return ref
    return None


def _stream(message: dict[str, Any], ref: Ref) -> str:
    if "stream" not in message:
        raise ProtocolError("missing_field", "This command needs a `stream`.", ref)
    stream = message["stream"]
    if not isinstance(stream, str) or not SLUG_RE.match(stream):
        raise ProtocolError(
            "invalid_field", "`stream` must be a stream slug such as sensors.lab-1.", ref
        )
    return stream


def _optional_int(
    message: dict[str, Any], name: str, ref: Ref, *, low: int, high: int
) -> int | None:
    value = message.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ProtocolError(
            "invalid_field", f"`{name}` must be a whole number from {low} to {high}.", ref
        )
    return value


def error_message(error: ProtocolError) -> ErrorFrame:
    return {"type": "error", "code": error.code, "message": error.message, "ref": error.ref}
