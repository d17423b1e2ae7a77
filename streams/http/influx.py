"""POST /api/v2/write: InfluxDB line protocol from Telegraf and the influxdb-client libraries.

Each point goes to a stream: the bucket itself when it names a push stream of the
writer's, else `<bucket>.<measurement>` followed by the tag values in the order of
their keys (made on first write, within the writer's stream limit; its fields are
declared as they first come). Booleans are stored as 0 and 1. The good lines are
stored and the bad ones named, as InfluxDB answers a partial write: 204 when every
line was stored, else the first failure's line with `code` and `message`.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass, field
from hashlib import sha256
from typing import Any

from asgiref.sync import async_to_sync
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse

from streams.access import stream_by_slug, stream_can_control
from streams.catalog import MAX_FIELDS, SlugTaken, StreamRequest, stream_create
from streams.clock import now_ms
from streams.http.line_protocol import PRECISIONS, FieldValue, Point, lines_parse, time_ms
from streams.metrics import metric_inc
from streams.models import SourceKind, Stream
from streams.producer.ingest import MAX_CLOCK_SKEW_MS, IngestError, ingest_samples
from streams.producer.values import field_types, values_check

REFUSED = "pulseboard_samples_refused_total"
SLUG_PART = re.compile(r"[^A-Za-z0-9._-]+")
MAX_SLUG = 80
# InfluxDB's codes for the answers a client acts on.
INVALID = "invalid"
UNPROCESSABLE = "unprocessable entity"
CODES = {400: INVALID, 403: "forbidden", 503: "unavailable"}
# A busy database (503): clients such as Telegraf send the batch again after this.
RETRY_AFTER_SECONDS = 1


@dataclass(frozen=True)
class TextQuery:
    """A query parameter of the write API, as the OpenAPI document describes it."""

    name: str
    description: str
    choices: tuple[str, ...] = ()
    required: bool = False

    def openapi(self) -> dict[str, Any]:
        schema: dict[str, Any] = {"type": "string"}
        if self.choices:
            schema["enum"] = list(self.choices)
        return {
            "name": self.name,
            "in": "query",
            "required": self.required,
            "description": self.description,
            "schema": schema,
        }


PARAMETERS = (
    TextQuery(
        "bucket",
        "A push stream of yours to write every point to; otherwise the prefix of "
        "`<bucket>.<measurement>[.<tag value>…]`, the stream each point goes to.",
        required=True,
    ),
    TextQuery("org", "Accepted for InfluxDB clients; not used."),
    TextQuery("precision", "The unit of the lines' timestamps (default ns).", tuple(PRECISIONS)),
)


@dataclass
class Failure:
    """Why a line was not stored: its number, the message, and the status it asks for."""

    line: int
    message: str
    status: int = 422
    lines: int = 1  # how many lines it refused


@dataclass
class Target:
    """The points bound for one stream, and whether that stream takes new fields."""

    slug: str
    measurement: str
    tags: dict[str, str]
    grows: bool
    points: list[Point] = field(default_factory=list)


def influx_error(status: int, code: str, message: str, line: int | None = None) -> JsonResponse:
    body: dict[str, Any] = {"code": code, "message": message}
    if line is not None:
        body["line"] = line
    return JsonResponse(body, status=status)


def body_text(request: HttpRequest) -> str:
    """Return the request's body as text, gzip undone; raise BodyProblem past the size cap."""
    cap = settings.PULSEBOARD_LINE_PROTOCOL_MAX_BYTES
    raw = request.read(cap + 1)
    if len(raw) > cap:
        raise BodyProblem(413, "request too large", f"The body is larger than {cap} bytes.")
    encoding = request.headers.get("Content-Encoding", "identity").strip().lower()
    if encoding == "gzip":
        inflater = zlib.decompressobj(wbits=31)
        try:
            raw = inflater.decompress(raw, cap + 1)
        except zlib.error as error:
            raise BodyProblem(400, INVALID, f"The body is not valid gzip: {error}.") from None
        if len(raw) > cap or inflater.unconsumed_tail:
            raise BodyProblem(
                413, "request too large", f"The body is larger than {cap} bytes unzipped."
            )
    elif encoding not in ("identity", ""):
        raise BodyProblem(
            415, "unsupported media type", f"Content-Encoding {encoding!r}: use gzip or none."
        )
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise BodyProblem(400, INVALID, f"The body is not UTF-8: {error}.") from None


class BodyProblem(Exception):
    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def slug_for(bucket: str, point: Point) -> str:
    """Return `<bucket>.<measurement>[.<tag value>...]` (tags by key), fit to be a slug.

    Characters a slug does not take become `-`; a name longer than a slug may be
    keeps its first 71 characters and a hash of the whole.
    """
    parts = [bucket, point.measurement, *(point.tags[key] for key in sorted(point.tags))]
    slug = ".".join(SLUG_PART.sub("-", part) for part in parts)
    if len(slug) > MAX_SLUG:
        slug = f"{slug[:71]}-{sha256(slug.encode()).hexdigest()[:8]}"
    return slug


def targets_of(bucket: str, points: list[Point], user: Any) -> list[Target]:
    """Return the points grouped by the stream each goes to, in the order they first come."""
    named = stream_by_slug(bucket)
    if named is not None and stream_can_control(named, user):
        whole = Target(bucket, "", {}, grows=False, points=points)
        return [whole] if points else []
    targets: dict[str, Target] = {}
    for point in points:
        slug = slug_for(bucket, point)
        if slug not in targets:
            targets[slug] = Target(slug, point.measurement, point.tags, grows=True)
        targets[slug].points.append(point)
    return list(targets.values())


def field_kind(value: FieldValue) -> str:
    return "text" if isinstance(value, str) else "number"


def fields_declared(points: list[Point], known: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Return `known` and, after them, each field the points bring that it lacks (up to the cap)."""
    fields = list(known)
    names = {item["name"] for item in fields}
    for point in points:
        for name, value in point.fields.items():
            if name not in names and len(fields) < MAX_FIELDS:
                fields.append({"name": name, "unit": "", "type": field_kind(value)})
                names.add(name)
    return fields


def stream_for(target: Target, user: Any) -> Stream:
    """Return the target's stream, made or given its new fields; raise IngestError if not allowed."""
    stream = stream_by_slug(target.slug)
    if stream is None:
        title = target.measurement + (
            " (" + ", ".join(f"{k}={v}" for k, v in sorted(target.tags.items())) + ")"
            if target.tags
            else ""
        )
        wanted = StreamRequest(
            slug=target.slug,
            title=title[:200],
            source_kind=str(SourceKind.PUSH),
            fields=fields_declared(target.points, []),
        )
        try:
            return stream_create(owner=user, request=wanted)
        except ValidationError as error:
            problems = "; ".join(" ".join(m) for m in error.message_dict.values())
            raise IngestError(
                "stream_refused", f"Stream {target.slug!r} not made: {problems}"
            ) from None
        except SlugTaken:
            stream = stream_by_slug(target.slug)
            if stream is None:
                raise
    grows = target.grows and len(fields_declared(target.points, stream.fields)) > len(stream.fields)
    if grows and stream_can_control(stream, user):
        with transaction.atomic():
            locked = Stream.objects.select_for_update().get(pk=stream.pk)
            fields = fields_declared(target.points, locked.fields)
            if len(fields) > len(locked.fields):
                locked.fields = fields
                locked.save(update_fields=["fields"])
            return locked
    return stream


def target_samples(
    target: Target, stream: Stream, precision: str, failures: list[Failure]
) -> tuple[list[dict[str, Any]], list[Point]]:
    """Return the target's points as samples, oldest first, and their points in the same order.

    Each point that cannot be a sample of the stream is a failure instead.
    """
    types = field_types(stream.fields)
    now = now_ms()
    kept: list[tuple[dict[str, Any], Point]] = []
    for point in target.points:
        values = {
            name: int(value) if isinstance(value, bool) else value
            for name, value in point.fields.items()
        }
        try:
            values_check(values, types=types, slug=stream.slug, where="fields")
        except IngestError as error:
            metric_inc(REFUSED, code=error.code)
            failures.append(Failure(point.line, f"line {point.line}: {error.message}"))
            continue
        sample: dict[str, Any] = {"values": values}
        if point.time is not None:
            t = time_ms(point.time, precision)
            if not 0 <= t <= now + MAX_CLOCK_SKEW_MS:
                metric_inc(REFUSED, code="invalid_time")
                ahead = MAX_CLOCK_SKEW_MS // 60_000
                message = f"the timestamp is before 1970 or more than {ahead} minutes ahead"
                failures.append(
                    Failure(point.line, f"line {point.line}: {message} (precision {precision}).")
                )
                continue
            sample["t"] = t
        kept.append((sample, point))
    kept.sort(key=lambda pair: pair[0].get("t", now))
    return [sample for sample, _ in kept], [point for _, point in kept]


def target_write(target: Target, user: Any, precision: str, failures: list[Failure]) -> int:
    """Store what can be of the target's points; return how many were stored."""
    try:
        stream = stream_for(target, user)
    except IngestError as error:
        metric_inc(REFUSED, code=error.code)
        failures.append(target_failure(target.points, error))
        return 0
    samples, lines = target_samples(target, stream, precision, failures)
    batch = settings.PULSEBOARD_MAX_INGEST_BATCH
    stored = 0
    for start in range(0, len(samples), batch):
        try:
            chunk = samples[start : start + batch]
            stored += len(async_to_sync(ingest_samples)(stream=stream, user=user, samples=chunk))
        except IngestError as error:  # ingest_samples counts it
            failures.append(target_failure(lines[start : start + batch], error))
    return stored


def target_failure(points: list[Point], error: IngestError) -> Failure:
    """Return the failure of a whole group of points, named by its first line."""
    first = min(point.line for point in points)
    status = error.status if error.status in (403, 503) else 422
    return Failure(first, f"line {first}: {error.message}", status, len(points))


def write_answer(written: int, failures: list[Failure]) -> HttpResponse:
    """Return 204, or the first failure (by line) with the partial write's count.

    A busy database comes first whatever its line: its 503 is what makes a client
    send the batch again (the lines already stored are then stored twice).
    """
    if not failures:
        return HttpResponse(status=204)
    failures.sort(key=lambda failure: (failure.status != 503, failure.line))
    first = failures[0]
    others = sum(failure.lines for failure in failures) - 1
    more = f"; {others} more lines refused" if others else ""
    message = f"partial write error ({written} written): {first.message}{more}"
    response = influx_error(
        first.status, CODES.get(first.status, UNPROCESSABLE), message, first.line
    )
    if first.status == 503:
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def influx_write(request: HttpRequest) -> HttpResponse:
    """Store the points of a line protocol body: `?bucket=…&precision=ns|us|ms|s` (`org` unused)."""
    if request.method != "POST":
        response = influx_error(405, "method not allowed", "POST line protocol to this URL.")
        response["Allow"] = "POST"
        return response
    if not request.user.is_authenticated:
        return influx_error(401, "unauthorized", "Send `Authorization: Token <api token>`.")
    bucket = request.GET.get("bucket", "").strip()
    if not bucket:
        return influx_error(400, INVALID, "`bucket` is required: a stream of yours, or a prefix.")
    precision = request.GET.get("precision", "ns")
    if precision not in PRECISIONS:
        return influx_error(400, INVALID, f"`precision` must be one of {', '.join(PRECISIONS)}.")
    try:
        text = body_text(request)
    except BodyProblem as problem:
        return influx_error(problem.status, problem.code, problem.message)
    points, errors = lines_parse(text)
    failures = [Failure(error.line, str(error), 400) for error in errors]
    if errors:
        metric_inc(REFUSED, len(errors), code="invalid_line")
    written = 0
    for target in targets_of(bucket, points, request.user):
        written += target_write(target, request.user, precision, failures)
    if not points and not errors:
        return influx_error(400, INVALID, "The body has no lines to write.")
    return write_answer(written, failures)
