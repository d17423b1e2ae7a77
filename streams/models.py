"""Streams, their samples, producer leases and API tokens."""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models

from streams.jsontext import json_text, json_value
from streams.messages import SLUG_PATTERN, stream_group

slug_validator = RegexValidator(
    SLUG_PATTERN,
    "Use 1–80 letters, digits, dots, dashes or underscores, starting with a letter or digit.",
)


class SourceKind(models.TextChoices):
    SENSOR = "sensor", "Sensor"
    SYSTEM = "system", "System (this host)"
    SINE = "sine", "Sine wave"
    ANOMALY = "anomaly", "Anomaly generator"
    BUSINESS = "business", "Business counters"
    MARKET = "market", "Market"
    REPLAY = "replay", "Replay of stored history"
    PUSH = "push", "Pushed by scripts"


# A field's type says what its values are. Users and pushes declare `number` (the
# default) or `text`; `trade` and `book` are the structured values only the market
# source writes.
FIELD_TYPES = ("number", "text")
SOURCE_FIELD_TYPES = ("trade", "book")
FIELD_KEYS = frozenset({"name", "unit", "type"})


def field_type(field: dict[str, Any]) -> str:
    """Return the type of a field (`number` when it declares none)."""
    return str(field.get("type") or "number")


def fields_typed(fields: Any) -> Any:
    """Return `fields` with a type on every field (anything but a list of objects unchanged)."""
    if not isinstance(fields, list):
        return fields
    return [
        {**item, "type": field_type(item)} if isinstance(item, dict) else item for item in fields
    ]


def validate_fields(
    value: Any, *, types: tuple[str, ...] = FIELD_TYPES + SOURCE_FIELD_TYPES
) -> None:
    """Raise unless `value` is a list of {"name", "unit", "type"} objects with unique names.

    `type` may be left out (a number); it must be one of `types`.
    """
    if not isinstance(value, list):
        raise ValidationError("Fields must be a list of objects with a name and a unit.")
    names: set[str] = set()
    for index, item in enumerate(value):
        if not isinstance(item, dict) or not isinstance(item.get("name"), str) or not item["name"]:
            raise ValidationError(f"fields[{index}] needs a non-empty name.")
        name = item["name"]
        unknown = set(item) - FIELD_KEYS
        if unknown:
            raise ValidationError(
                f"fields[{index}] ({name!r}) has unknown keys: {', '.join(sorted(unknown))}; "
                "a field has a name, a unit and a type."
            )
        if not isinstance(item.get("unit", ""), str):
            raise ValidationError(f"The unit of {name!r} must be text.")
        kind = item.get("type", "number")
        if kind not in types:
            allowed = " or ".join(f'"{t}"' for t in types)
            raise ValidationError(
                f"fields[{index}].type ({name!r}) must be {allowed}; got {str(kind)[:40]!r}."
            )
        if name in names:
            raise ValidationError(f"The field name {name!r} is used twice.")
        names.add(name)


class Stream(models.Model):
    slug = models.CharField(max_length=80, unique=True, validators=[slug_validator])
    title = models.CharField(max_length=200)
    fields = models.JSONField(default=list, validators=[validate_fields], blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="streams",
        help_text="Leave empty for a stream that belongs to nobody in particular.",
    )
    is_public = models.BooleanField(default=False, help_text="Every logged-in user may watch it.")
    source_kind = models.CharField(max_length=20, choices=SourceKind.choices)
    source_settings = models.JSONField(default=dict, blank=True)
    running = models.BooleanField(default=True)
    retention_seconds = models.PositiveIntegerField(default=7 * 24 * 3600)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.slug

    def save(self, *args: Any, **kwargs: Any) -> None:
        # Every stored field says its type, so every reader (pages, frames, exports,
        # ingest) sees the same one; an untyped field is a number.
        self.fields = fields_typed(self.fields)
        super().save(*args, **kwargs)

    @property
    def group_name(self) -> str:
        """Return the channel-layer group that carries this stream's frames."""
        return stream_group(self.slug)


class ExactJSONField(models.JSONField):
    """A JSONField kept as the text it was written as: PostgreSQL's `json`, not `jsonb`.

    jsonb keeps numbers as `numeric`, so -0.0 comes back as 0 and 1e300 as an
    integer of 301 digits; a sample's values must come back bit for bit. Written
    as JSON text (`jsontext.json_text`), read as text (see `json_columns_as_text`).
    Key lookups (`values__name=…`) need jsonb: none is made on these columns.
    """

    def db_type(self, connection: Any) -> str | None:
        if connection.vendor == "postgresql":
            return "json"
        return super().db_type(connection)

    def get_db_prep_value(self, value: Any, connection: Any, prepared: bool = False) -> Any:
        if connection.vendor == "postgresql" and value is not None:
            return json_text(value if prepared else self.get_prep_value(value))
        return super().get_db_prep_value(value, connection, prepared)

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        if value is None or not isinstance(value, str):
            return value
        return json_value(value)


def json_columns_as_text(sender: Any, connection: Any, **kwargs: Any) -> None:
    """Have psycopg hand `json` columns over as text (as Django has it do for jsonb).

    Its own loader would parse them with the standard library, slower than
    `jsontext.json_value`, and give ExactJSONField a dict where it expects text.
    """
    if connection.vendor != "postgresql":
        return
    from psycopg.types.string import TextLoader

    connection.connection.adapters.register_loader("json", TextLoader)


class Sample(models.Model):
    stream = models.ForeignKey(Stream, on_delete=models.CASCADE, related_name="samples")
    seq = models.BigIntegerField()
    t = models.BigIntegerField(help_text="UTC milliseconds since the epoch")
    values = ExactJSONField(default=dict)
    flags = ExactJSONField(default=list, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["stream", "seq"], name="sample_stream_seq_unique")
        ]
        indexes = [models.Index(fields=["stream", "t"], name="sample_stream_t")]

    def __str__(self) -> str:
        return f"{self.stream_id}#{self.seq}"


class SampleBlock(models.Model):
    """A run of a stream's older samples, compressed in one block (`streams/history/codec.py`).

    Compaction moves rows into a block and deletes them in one transaction, so a
    seq is stored once, as a row or in a block; rows always hold a stream's
    newest sample, so the highest stored seq is the rows' (the write fence).
    """

    stream = models.ForeignKey(Stream, on_delete=models.CASCADE, related_name="blocks")
    first_seq = models.BigIntegerField()
    last_seq = models.BigIntegerField()
    first_t = models.BigIntegerField(help_text="the lowest t in the block, UTC milliseconds")
    last_t = models.BigIntegerField(help_text="the highest t in the block, UTC milliseconds")
    count = models.PositiveIntegerField()
    size = models.PositiveIntegerField(help_text="bytes of data")
    data = models.BinaryField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["stream", "first_seq"], name="block_stream_first_seq")
        ]
        indexes = [models.Index(fields=["stream", "last_t"], name="block_stream_last_t")]

    def __str__(self) -> str:
        return f"{self.stream_id}#{self.first_seq}–{self.last_seq}"


class StreamLease(models.Model):
    """Which producer owns a stream until when; only the owner publishes it."""

    stream = models.OneToOneField(Stream, on_delete=models.CASCADE, primary_key=True)
    holder = models.CharField(max_length=100, blank=True)
    expires_ms = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.stream_id} held by {self.holder or 'nobody'}"


def token_digest(token: str) -> str:
    """Return the stored form of a token (tokens themselves are never stored)."""
    return hashlib.sha256(token.encode()).hexdigest()


class ApiTokenManager(models.Manager["ApiToken"]):
    def issue(self, *, user: Any, name: str = "") -> tuple[ApiToken, str]:
        """Create a token for `user`; return the row and the token, shown only this once."""
        token = "pb_" + secrets.token_urlsafe(30)
        row = self.create(user=user, name=name, digest=token_digest(token), prefix=token[:10])
        return row, token


class ApiToken(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100, blank=True)
    digest = models.CharField(max_length=64, unique=True, editable=False)
    prefix = models.CharField(max_length=12, editable=False)
    created = models.DateTimeField(auto_now_add=True)
    last_used = models.DateTimeField(null=True, blank=True, editable=False)

    objects = ApiTokenManager()

    class Meta:
        verbose_name = "API token"

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user})"


class Rollup(models.Model):
    """Per-bucket statistics of a stream's numeric fields, for fast history over long ranges.

    `stats` maps each numeric field to [min, max, sum, count] over the samples
    whose t falls in [start, start + tier).
    """

    stream = models.ForeignKey(Stream, on_delete=models.CASCADE, related_name="rollups")
    tier = models.PositiveIntegerField(help_text="bucket width in milliseconds")
    start = models.BigIntegerField(help_text="bucket start, UTC milliseconds")
    stats = models.JSONField(default=dict)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["stream", "tier", "start"], name="rollup_bucket_unique")
        ]

    def __str__(self) -> str:
        return f"{self.stream_id}@{self.tier}:{self.start}"


class AccessVersion(models.Model):
    """When the access of a group of sockets (a user's, a link's, a stream's watchers') last changed.

    `key` is the group the access event was sent to (`user.<id>`, `link.<id>`,
    `stream.<slug>`). Every access event bumps it after commit, so a web process
    that missed the event still finds the change in one read a sweep
    (streams/live/access_sweep.py).
    """

    key = models.CharField(max_length=120, primary_key=True)
    version = models.BigIntegerField(default=1)
    changed_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"{self.key} v{self.version}"
