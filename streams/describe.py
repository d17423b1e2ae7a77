"""How a stream is described to clients: the API's summary and what a page needs."""

from __future__ import annotations

from typing import Any

from streams.access import stream_can_control
from streams.models import SourceKind, Stream, fields_typed
from streams.sources import SOURCES


def stream_summary(stream: Stream) -> dict[str, Any]:
    """Return the API's description of a stream; each field with its name, unit and type."""
    return {
        "slug": stream.slug,
        "title": stream.title,
        "fields": fields_typed(stream.fields),
        "source_kind": stream.source_kind,
        "running": stream.running,
        "public": stream.is_public,
        "owner": stream.owner.get_username() if stream.owner else None,
        "retention_seconds": stream.retention_seconds,
    }


def stream_switchable(stream: Stream) -> bool:
    """Return whether the stream can be started and stopped: a source runs it, or scripts push.

    A stopped push stream refuses pushes until it is started again.
    """
    return stream.source_kind in SOURCES or stream.source_kind == SourceKind.PUSH


def stream_page_json(stream: Stream, user: Any) -> dict[str, Any]:
    """Return what a page needs of a stream: its fields, state and whether this viewer may run it."""
    return {
        "slug": stream.slug,
        "title": stream.title,
        "fields": fields_typed(stream.fields),
        "running": stream.running,
        "source_kind": stream.source_kind,
        "can_control": stream_switchable(stream) and stream_can_control(stream, user),
    }
