"""The HTTP API as an OpenAPI 3.1 document, built from what the views declare.

Each operation names its URL pattern (so its path comes from `urls.py`) and
takes its query parameters from the same `IntQuery` objects the view parses
with; tests check that every API route has an operation and the reverse.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from django.urls import NoReverseMatch, reverse

from streams.http import export, history, influx, raw
from streams.http.openapi_schemas import JSON, SCHEMAS, SLUG_SCHEMA, ref
from streams.http.params import IntQuery

USER_AUTH: list[dict[str, list[str]]] = [{"token": []}, {"session": []}]


SECURITY_SCHEMES = {
    "token": {
        "type": "apiKey",
        "in": "header",
        "name": "Authorization",
        "description": "`Token <token>`, from `manage.py createtoken <username>`.",
    },
    "session": {"type": "apiKey", "in": "cookie", "name": "sessionid"},
    "link": {
        "type": "apiKey",
        "in": "query",
        "name": "share",
        "description": "A dashboard's secret link: read the streams it shows without signing in.",
    },
    "scrape": {
        "type": "http",
        "scheme": "bearer",
        "description": "The `PULSEBOARD_METRICS_TOKEN` setting.",
    },
}

ERRORS = {
    400: "A parameter or the body is not valid (`invalid_field`, `invalid_json`, …).",
    401: "Not signed in: log in, or send a token (`unauthenticated`, `invalid_token`).",
    403: "Signed in, but not allowed (`forbidden`, `csrf_failed`).",
    404: "No such stream that the caller may read (`unknown_stream`), or no such URL.",
    405: "The method is not allowed (`method_not_allowed`); `Allow` names the right one.",
    409: "Not a push stream (`not_push_stream`), or `t` before the stream's latest sample.",
    413: "Too many samples in one batch (`too_large`), or a body past its size cap.",
    415: "A `Content-Encoding` the endpoint does not read (gzip or none).",
    422: "Lines that parse but were not stored (a value its field does not take, a stream "
    "not made); the other lines were stored.",
    503: "The database is busy: send the same request again after `Retry-After` seconds.",
}
# What /api/v2/write answers on failure, as InfluxDB does (a token the middleware
# refuses, or a refused CSRF check, answers in the API's own shape).
INFLUX_ERROR = {
    "anyOf": [
        {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "line": {"type": "integer", "minimum": 1},
            },
        },
        ref("Error"),
    ]
}


@dataclass(frozen=True)
class Operation:
    """One method on one route of the API, as its view handles it."""

    url_name: str
    method: str
    summary: str
    ok: dict[str, Any]  # the successful response object
    status: int = 200
    errors: tuple[int, ...] = (401, 404, 405)
    parameters: tuple[IntQuery | influx.TextQuery, ...] = ()
    security: list[dict[str, list[str]]] = field(default_factory=lambda: USER_AUTH)
    body: dict[str, Any] | None = None
    kwargs: dict[str, str] = field(default_factory=dict)  # fixed parts of the route
    shared: bool = False  # a secret link's `?share=` may read it too
    body_media: str = JSON
    error_schema: dict[str, Any] = field(default_factory=lambda: ref("Error"))


def json_response(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {JSON: {"schema": schema}}}


OPERATIONS = [
    Operation(
        "api-streams",
        "get",
        "The streams the caller may read",
        json_response("The streams", ref("StreamList")),
        errors=(401, 405),
    ),
    Operation(
        "api-streams",
        "post",
        "Make a stream of the caller's (private unless `public`); it starts running",
        json_response("The new stream", ref("Stream")),
        status=201,
        errors=(400, 401, 403, 405, 409),
        body=ref("NewStream"),
    ),
    Operation(
        "api-history",
        "get",
        "A range reduced to at most `points` buckets (min, max, mean per field)",
        json_response("The buckets", ref("History")),
        errors=(400, 401, 404, 405),
        parameters=history.PARAMETERS,
        shared=True,
    ),
    Operation(
        "api-samples",
        "get",
        "Stored samples with every field, a page at a time",
        json_response("A page of samples", ref("SamplePage")),
        errors=(400, 401, 404, 405),
        parameters=raw.PARAMETERS,
        shared=True,
    ),
    Operation(
        "api-export",
        "get",
        "The raw samples of a range as CSV, streamed",
        {
            "description": "One row per sample: seq, t, time, the fields, flags",
            "content": {"text/csv": {"schema": {"type": "string"}}},
        },
        errors=(400, 401, 404, 405),
        parameters=export.PARAMETERS,
        kwargs={"extension": "csv"},
        shared=True,
    ),
    Operation(
        "api-export",
        "get",
        "The raw samples of a range as JSON, streamed",
        json_response("The samples", ref("Export")),
        errors=(400, 401, 404, 405),
        parameters=export.PARAMETERS,
        kwargs={"extension": "json"},
        shared=True,
    ),
    Operation(
        "api-export",
        "get",
        "The raw samples of a range as a Parquet file, streamed a row group at a time",
        {
            "description": "Columns seq, t (int64 ms), time (timestamp ms UTC), one per "
            "declared field (float64 for numbers, string for text, JSON text for others; "
            "null where a sample has no value), flags (list of strings)",
            "content": {
                export.CONTENT_TYPES["parquet"]: {"schema": {"type": "string", "format": "binary"}}
            },
        },
        errors=(400, 401, 404, 405),
        parameters=export.PARAMETERS,
        kwargs={"extension": "parquet"},
        shared=True,
    ),
    Operation(
        "api-samples",
        "post",
        "Push samples to a push stream (owner or staff); stored, then sent to watchers",
        json_response("Stored", ref("Stored")),
        status=201,
        errors=(400, 401, 403, 404, 405, 409, 413, 503),
        body=ref("PushedSamples"),
    ),
    Operation(
        "api-influx-write",
        "post",
        "Write InfluxDB line protocol (Telegraf, influxdb-client); gzip bodies too",
        {"description": "Every line was stored"},
        status=204,
        errors=(400, 401, 403, 405, 413, 415, 422, 503),
        parameters=influx.PARAMETERS,
        body={"type": "string", "description": "Lines of `measurement,tags fields time`."},
        body_media="text/plain",
        error_schema=INFLUX_ERROR,
    ),
    Operation(
        "api-stats",
        "get",
        "Live counts, and per readable stream its rate, last seq and viewers",
        json_response("The counts", ref("Stats")),
        errors=(401, 405),
    ),
    Operation(
        "healthz",
        "get",
        "Whether the database and the channel layer answer",
        json_response("Healthy", ref("Health")),
        errors=(405,),
        security=[],
    ),
    Operation(
        "metrics",
        "get",
        "This process's metrics in the Prometheus text format (staff or the scraper)",
        {
            "description": "Prometheus exposition text",
            "content": {"text/plain": {"schema": {"type": "string"}}},
        },
        errors=(401, 403, 405),
        security=[{"scrape": []}, *USER_AUTH],
    ),
]


def openapi_path(operation: Operation) -> str:
    """Return the operation's path as the URLconf builds it, with `{slug}` where a slug goes."""
    try:
        path = reverse(operation.url_name, kwargs=operation.kwargs)
    except NoReverseMatch:
        path = reverse(operation.url_name, kwargs={**operation.kwargs, "slug": "{slug}"})
    return unquote(path)


def operation_object(operation: Operation, path: str) -> dict[str, Any]:
    responses: dict[str, Any] = {str(operation.status): operation.ok}
    for status in operation.errors:
        responses[str(status)] = json_response(ERRORS[status], operation.error_schema)
    answer: dict[str, Any] = {
        "operationId": "-".join([operation.method, operation.url_name, *operation.kwargs.values()]),
        "summary": operation.summary,
        "parameters": [param.openapi() for param in operation.parameters],
        "responses": responses,
        "security": [*operation.security, {"link": []}] if operation.shared else operation.security,
    }
    if "{slug}" in path:
        answer["parameters"].insert(
            0, {"name": "slug", "in": "path", "required": True, "schema": SLUG_SCHEMA}
        )
    if operation.body is not None:
        content = {operation.body_media: {"schema": operation.body}}
        answer["requestBody"] = {"required": True, "content": content}
    return answer


def openapi_document(version: str) -> dict[str, Any]:
    """Return the OpenAPI document of every operation in OPERATIONS."""
    paths: dict[str, dict[str, Any]] = {}
    for operation in OPERATIONS:
        path = openapi_path(operation)
        paths.setdefault(path, {})[operation.method] = operation_object(operation, path)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Pulseboard HTTP API",
            "version": version,
            "description": (
                "Streams, their history and pushed samples. Every error under `/api/` is "
                'JSON: `{"error": {"code", "message"}}` with a stable `code`. The live '
                "WebSocket protocol is described in AsyncAPI at `/api/asyncapi.json`."
            ),
        },
        "paths": paths,
        "components": {"schemas": SCHEMAS, "securitySchemes": SECURITY_SCHEMES},
    }
