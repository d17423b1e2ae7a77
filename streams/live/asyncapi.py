"""/ws/live/ as an AsyncAPI 3 document: server frames from the messages' TypedDicts.

The frames a client receives are converted from `streams.messages` (so a field
added there is in the document at once); the commands a client sends are written
here beside the parser's own limits (`streams.live.protocol`), and the tests send
what these schemas generate to check the parser accepts exactly that.
"""

from __future__ import annotations

import types
import typing
from typing import Any, Literal, TypedDict, Union

from django.conf import settings

from streams.live import protocol
from streams.live.limits import limits_announced
from streams.messages import (
    SLUG_PATTERN,
    AlertFrame,
    ErrorFrame,
    HelloFrame,
    PongFrame,
    PresenceFrame,
    PublishedFrame,
    SampleFrame,
    StatusFrame,
    SubscribedFrame,
    UnsubscribedFrame,
)
from streams.models import FIELD_TYPES, SOURCE_FIELD_TYPES

SLUG = {"type": "string", "pattern": SLUG_PATTERN.replace(r"\Z", "$")}
REF = {
    "description": "Any string up to 64 characters or integer; echoed in the reply or error.",
    "anyOf": [
        {"type": "string", "maxLength": protocol.MAX_REF_LENGTH},
        {"type": "integer"},
        {"type": "null"},
    ],
}


class DataFrame(TypedDict):
    """A batch of samples, as `messages.data_frame` encodes it: ascending, contiguous seq."""

    type: Literal["data"]
    stream: str
    samples: list[SampleFrame]


SERVER_FRAMES: dict[str, type] = {
    "hello": HelloFrame,
    "subscribed": SubscribedFrame,
    "unsubscribed": UnsubscribedFrame,
    "data": DataFrame,
    "status": StatusFrame,
    "presence": PresenceFrame,
    "pong": PongFrame,
    "published": PublishedFrame,
    "alert": AlertFrame,
    "error": ErrorFrame,
}

# A stream's field as `subscribed` describes it; pushed values must be of its type.
STREAM_FIELDS = {
    "type": "array",
    "items": {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "unit": {"type": "string"},
            "type": {
                "enum": [*FIELD_TYPES, *SOURCE_FIELD_TYPES],
                "description": "`number` fields take finite numbers, `text` fields text; "
                "`trade` and `book` are a market's structured values",
            },
        },
        "required": ["name", "type"],
    },
}

# Fields whose shape says more than their Python type.
SERVER_FIELDS: dict[tuple[str, str], dict[str, Any]] = {
    ("error", "code"): {"enum": list(protocol.ERROR_CODES)},
    ("subscribed", "fields"): STREAM_FIELDS,
    ("subscribed", "stream"): SLUG,
    ("data", "stream"): SLUG,
    ("hello", "server_time"): {"type": "integer", "description": "UTC milliseconds"},
}


def json_schema(annotation: Any, definitions: dict[str, Any]) -> dict[str, Any]:
    """Return the JSON Schema of a Python type; TypedDicts go to `definitions` by name."""
    if annotation is Any:
        return {}
    if annotation is type(None) or annotation is None:
        return {"type": "null"}
    simple = {bool: "boolean", int: "integer", float: "number", str: "string"}
    if annotation in simple:
        return {"type": simple[annotation]}
    if typing.is_typeddict(annotation):
        name = annotation.__name__
        if name not in definitions:
            definitions[name] = {}  # a placeholder while its own fields are converted
            definitions[name] = typeddict_schema(annotation, definitions)
        return {"$ref": f"#/components/schemas/{name}"}
    origin, arguments = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is Literal:
        return {"enum": list(arguments)}
    if origin in (Union, types.UnionType):
        return {"anyOf": [json_schema(argument, definitions) for argument in arguments]}
    if origin is list:
        return {"type": "array", "items": json_schema(arguments[0], definitions)}
    if origin is dict:
        return {"type": "object", "additionalProperties": json_schema(arguments[1], definitions)}
    raise TypeError(f"no JSON Schema for {annotation!r}")


def typeddict_schema(frame: Any, definitions: dict[str, Any], kind: str = "") -> dict[str, Any]:
    """Return the object schema of a TypedDict: exactly its keys, the required ones required."""
    hints = typing.get_type_hints(frame)
    properties = {
        name: SERVER_FIELDS.get((kind, name)) or json_schema(hint, definitions)
        for name, hint in hints.items()
    }
    return {
        "type": "object",
        "properties": properties,
        "required": sorted(frame.__required_keys__),
        "additionalProperties": False,
    }


def command(kind: str, properties: dict[str, Any], required: tuple[str, ...] = ()) -> Any:
    return {
        "type": "object",
        "properties": {"type": {"const": kind}, **properties, "ref": REF},
        "required": ["type", *required],
    }


def client_commands(max_backfill: int) -> dict[str, Any]:
    """Return the schema of every command a client may send, by type."""
    stream = {"stream": SLUG}
    pushed = {
        "type": "object",
        "properties": {
            "t": {"type": "integer", "minimum": 0},
            "values": {
                "type": "object",
                "minProperties": 1,
                "description": "A number for each `number` field, text for each `text` field",
            },
            "flags": {"type": "array", "items": {"type": "string"}},
        },
        "required": ["values"],
    }
    since = {"type": "integer", "minimum": 0, "maximum": 2**62}
    return {
        "subscribe": command(
            "subscribe",
            {
                **stream,
                "since": since,
                "backfill": {"type": "integer", "minimum": 0, "maximum": max_backfill},
            },
            ("stream",),
        ),
        "unsubscribe": command("unsubscribe", stream, ("stream",)),
        "start": command("start", stream, ("stream",)),
        "stop": command("stop", stream, ("stream",)),
        "ping": command("ping", {"t": {"type": "number"}}),
        "publish": command(
            "publish",
            {**stream, "samples": {"type": "array", "items": pushed}},
            ("stream", "samples"),
        ),
    }


CLOSE_CODES = {
    protocol.CLOSE_SESSION_ENDED: "The credential ended (logout, new password, deactivation, expiry, token deleted).",
    protocol.CLOSE_ACCESS_REVOKED: "The dashboard link this socket came through was revoked or replaced.",
    protocol.CLOSE_IDLE: "No frame from the client for `idle_timeout` seconds.",
    protocol.CLOSE_TOO_MANY_CONNECTIONS: "Too many connections for this user.",
    protocol.CLOSE_FLOOD: "The client kept sending past its whole burst of refusals.",
    protocol.CLOSE_TRY_AGAIN_LATER: "The channel layer is away: try again later.",
    1009: "A frame far over `max_frame_bytes`: not read at all.",
    1011: "The client did not answer the server's WebSocket pings.",
}


def messages(schemas: dict[str, Any], direction: str) -> dict[str, Any]:
    return {
        f"{direction}.{kind}": {
            "name": kind,
            "contentType": "application/json",
            "payload": schema,
        }
        for kind, schema in schemas.items()
    }


def message_refs(names: dict[str, Any]) -> list[dict[str, str]]:
    return [{"$ref": f"#/channels/live/messages/{name}"} for name in names]


def asyncapi_document(version: str, host: str) -> dict[str, Any]:
    """Return the AsyncAPI 3 document of /ws/live/ as served from `host`."""
    definitions: dict[str, Any] = {}
    frames = {
        kind: typeddict_schema(frame, definitions, kind) for kind, frame in SERVER_FRAMES.items()
    }
    sent = messages(client_commands(settings.PULSEBOARD_MAX_BACKFILL), "client")
    received = messages(frames, "server")
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Pulseboard live protocol",
            "version": version,
            "description": (
                "JSON text frames over one WebSocket, each an object with a `type`. Bad input "
                "never closes the connection: it gets an `error` frame with a stable `code`. "
                "Limits are announced in `hello.limits`."
            ),
            "x-protocol-version": protocol.PROTOCOL_VERSION,
            "x-error-codes": protocol.ERROR_CODES,
            "x-close-codes": {str(code): meaning for code, meaning in CLOSE_CODES.items()},
            "x-limits": limits_announced(),
        },
        "servers": {
            "live": {
                "host": host,
                "protocol": "ws",
                "description": "The server that served this document; authenticate with the "
                "session cookie (and a same-site Origin) or `?token=`.",
            }
        },
        "channels": {
            "live": {"address": "/ws/live/", "messages": {**sent, **received}},
        },
        "operations": {
            "sendCommand": {
                "action": "receive",
                "channel": {"$ref": "#/channels/live"},
                "summary": "Commands the server receives from a client.",
                "messages": message_refs(sent),
            },
            "receiveFrame": {
                "action": "send",
                "channel": {"$ref": "#/channels/live"},
                "summary": "Frames the server sends to a client.",
                "messages": message_refs(received),
            },
        },
        "components": {"schemas": definitions},
    }
