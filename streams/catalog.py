"""Making streams: what a user asks for, checked field by field, then created as theirs.

Used by the "New stream" page and `POST /api/streams/`. A new stream is private
unless asked otherwise, belongs to whoever made it, and starts running.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from streams.access import (
    derived_not_public,
    derived_unread,
    kind_reads,
    stream_by_slug,
    streams_by_slug,
)
from streams.models import (
    FIELD_TYPES,
    SourceKind,
    Stream,
    fields_typed,
    slug_validator,
    validate_fields,
)
from streams.sources import SOURCES, source_settings_errors

PUSH_FIELDS = [{"name": "value", "unit": "", "type": "number"}]
MAX_FIELDS = 32
MAX_RETENTION_SECONDS = 365 * 86_400


class SlugTaken(Exception):
    """Another stream has that slug already."""


@dataclass
class StreamRequest:
    """What someone asks a new stream to be."""

    slug: str
    title: str
    source_kind: str
    fields: list[dict[str, str]] | None = None  # push streams only: name, unit, type
    source_settings: dict[str, Any] = field(default_factory=dict)
    is_public: bool = False
    retention_seconds: int = 7 * 86_400


def stream_request_errors(request: StreamRequest, owner: Any) -> dict[str, str]:
    """Return field → problem (empty when the stream may be made)."""
    errors: dict[str, str] = {}
    try:
        slug_validator(request.slug)
    except ValidationError as error:
        errors["slug"] = " ".join(error.messages)
    if not request.title.strip() or len(request.title) > 200:
        errors["title"] = "Give the stream a title of at most 200 characters."
    if request.source_kind not in SourceKind.values:
        errors["source_kind"] = f"must be one of {', '.join(SourceKind.values)}"
    elif request.source_kind == SourceKind.SYSTEM and not owner.is_staff:
        errors["source_kind"] = "Only staff may publish this host's figures."
    else:
        problems = source_settings_errors(request.source_kind, request.source_settings)
        if problems:
            errors["source_settings"] = "; ".join(problems)
    if "source_kind" not in errors and "source_settings" not in errors:
        errors.update(derived_request_errors(request, owner))
    if request.fields is not None:
        try:
            # A user declares numbers or text; structured types are the market's own.
            validate_fields(request.fields, types=FIELD_TYPES)
            if len(request.fields) > MAX_FIELDS:
                raise ValidationError(f"At most {MAX_FIELDS} fields.")
        except ValidationError as error:
            errors["fields"] = " ".join(error.messages)
    if not 60 <= request.retention_seconds <= MAX_RETENTION_SECONDS:
        errors["retention_seconds"] = f"must be from 60 to {MAX_RETENTION_SECONDS} seconds"
    limit = settings.PULSEBOARD_MAX_STREAMS_PER_USER
    if not owner.is_staff and Stream.objects.filter(owner=owner).count() >= limit:
        errors["slug"] = f"You have {limit} streams already, the most one user may have."
    return errors


def derived_request_errors(request: StreamRequest, owner: Any) -> dict[str, str]:
    """Return what is wrong with a stream that reads others (a replay): what it reads, its publicity.

    Its owner must read every stream it reads directly, and it may be public only
    while they all are (it stops, or turns private, when that changes later).
    """
    reads = kind_reads(request.source_kind, request.source_settings)
    sources = streams_by_slug(reads)
    unread = derived_unread(owner, reads, sources)
    if unread is not None:
        return {
            "source_settings": f"It reads {unread!r}, which must be a stream you read directly."
        }
    private = derived_not_public(reads, sources)
    if request.is_public and private is not None:
        return {"public": f"It may be public only while what it reads is: {private!r} is private."}
    return {}


def stream_fields_for(request: StreamRequest) -> list[dict[str, str]]:
    """Return a new stream's fields: its source's, the replayed stream's, or the pushed ones."""
    if request.source_kind == SourceKind.REPLAY:
        source = stream_by_slug(str(request.source_settings["source"]))
        return list(source.fields) if source else []
    if request.source_kind in SOURCES:
        return list(SOURCES[request.source_kind].fields)
    return fields_typed(request.fields) or PUSH_FIELDS


def stream_create(*, owner: Any, request: StreamRequest) -> Stream:
    """Create the stream as `owner`'s; raise ValidationError naming each bad field, or SlugTaken."""
    errors = stream_request_errors(request, owner)
    if errors:
        raise ValidationError(errors)
    try:
        with transaction.atomic():
            return Stream.objects.create(
                slug=request.slug,
                title=request.title.strip(),
                source_kind=request.source_kind,
                source_settings=request.source_settings,
                fields=stream_fields_for(request),
                owner=owner,
                is_public=request.is_public,
                retention_seconds=request.retention_seconds,
            )
    except IntegrityError:
        raise SlugTaken(request.slug) from None
