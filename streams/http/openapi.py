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

from streams.contract import SLUG_PATTERN
from streams.http import export, history, raw
from streams.http.params import IntQuery

JSON = "application/json"
# JSON Schema patterns are ECMA-262 regular expressions: no `\Z`.
SLUG_SCHEMA = {"type": "string", "pattern": SLUG_PATTERN.replace(r"\Z", "$")}
USER_AUTH: list[dict[str, list[str]]] = [{"token": []}, {"session": []}]


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def obj(properties: dict[str, Any], *, optional: tuple[str, ...] = ()) -> dict[str, Any]:
    """Return an object schema whose properties are all required but `optional`."""
    return {
        "type": "object",
        "properties": properties,
        "required": [name for name in properties if name not in optional],
    }


NUMBER_OR_NULL = {"type": ["number", "null"]}
FIELD = obj(
    {"name": {"type": "string"}, "unit": {"type": "string"}, "type": {"type": "string"}},
    optional=("unit", "type"),
)
SAMPLE = obj(
    {
        "seq": {"type": "integer", "minimum": 1},
        "t": {"type": "integer", "description": "UTC milliseconds"},
        "values": {"type": "object"},
        "flags": {"type": "array", "items": {"type": "string"}},
    },
    optional=("flags",),
)
PUSHED_SAMPLE = {
    **obj(
        {
            "t": {"type": "integer", "minimum": 0, "description": "UTC ms; default: now"},
            "values": {
                "type": "object",
                "minProperties": 1,
                "additionalProperties": {"type": ["number", "string"]},
            },
            "flags": {"type": "array", "maxItems": 8, "items": {"type": "string"}},
        },
        optional=("t", "flags"),
    ),
    "additionalProperties": False,
}

SCHEMAS: dict[str, Any] = {
    "Error": obj(
        {
            "error": obj(
                {
                    "code": {"type": "string", "description": "Stable; clients may branch on it."},
                    "message": {"type": "string", "description": "For people; may change."},
                }
            )
        }
    ),
    "Field": FIELD,
    "Sample": SAMPLE,
    "Stream": obj(
        {
            "slug": SLUG_SCHEMA,
            "title": {"type": "string"},
            "fields": {"type": "array", "items": ref("Field")},
            "source_kind": {"type": "string"},
            "running": {"type": "boolean"},
            "public": {"type": "boolean"},
            "owner": {"type": ["string", "null"]},
            "retention_seconds": {"type": "integer"},
        }
    ),
    "StreamList": obj({"streams": {"type": "array", "items": ref("Stream")}}),
    "History": obj(
        {
            "stream": {"type": "string"},
            "from": {"type": "integer"},
            "to": {"type": "integer"},
            "points": {"type": "integer"},
            "tier": {"type": "string", "description": "raw, 1s or 1m: where the answer came from"},
            "bucket_ms": {"type": "integer"},
            "t": {"type": "array", "items": {"type": "integer"}},
            "count": {"type": "array", "items": {"type": "integer"}},
            "fields": {
                "type": "object",
                "description": "Per field: `min`, `max` and `mean` arrays, one item per bucket.",
                "additionalProperties": {
                    "type": "object",
                    "additionalProperties": {"type": "array", "items": NUMBER_OR_NULL},
                },
            },
            "flags": {
                "type": "object",
                "additionalProperties": {"type": "array", "items": {"type": "integer"}},
            },
        }
    ),
    "Export": obj(
        {
            "stream": {"type": "string"},
            "from": {"type": "integer"},
            "to": {"type": "integer"},
            "fields": {"type": "array", "items": ref("Field")},
            "samples": {"type": "array", "items": ref("Sample")},
        }
    ),
    "SamplePage": {
        **obj(
            {
                "stream": {"type": "string"},
                "from": {"type": "integer"},
                "to": {"type": "integer"},
                "fields": {"type": "array", "items": ref("Field")},
                "raw_from": {
                    "type": ["integer", "null"],
                    "description": "The oldest stored sample's t; before it only rollups remain",
                },
                "samples": {"type": "array", "items": ref("Sample")},
                "next_after_seq": {"type": ["integer", "null"]},
                "next_before_seq": {"type": ["integer", "null"]},
            },
            optional=("next_after_seq", "next_before_seq"),
        ),
        "description": "`next_after_seq` (or `next_before_seq`) continues; null: no more.",
    },
    "PushedSamples": obj(
        {"samples": {"type": "array", "minItems": 1, "items": PUSHED_SAMPLE}},
    ),
    "Stored": obj(
        {
            "stream": {"type": "string"},
            "stored": {"type": "integer"},
            "first": {"type": "integer"},
            "last": {"type": "integer"},
        }
    ),
    "Stats": obj(
        {
            "server_time": {"type": "integer"},
            "connections": {"type": "integer"},
            "subscriptions": {"type": "integer"},
            "streams": {
                "type": "array",
                "items": obj(
                    {
                        "slug": {"type": "string"},
                        "running": {"type": "boolean"},
                        "rate": {"type": "number", "description": "samples/s over the last 10 s"},
                        "last_seq": {"type": "integer"},
                        "viewers": obj(
                            {"connections": {"type": "integer"}, "users": {"type": "integer"}}
                        ),
                    }
                ),
            },
        }
    ),
    "Health": obj(
        {
            "status": {"enum": ["ok", "unhealthy"]},
            "database": {"enum": ["ok", "down"]},
            "channel_layer": {"enum": ["ok", "down"]},
            "errors": {
                "type": "object",
                "description": "For each part that is down, the kind of error it gave",
                "additionalProperties": {"type": "string"},
            },
        },
        optional=("errors",),
    ),
}

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
    413: "Too many samples in one batch (`too_large`).",
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
    parameters: tuple[IntQuery, ...] = ()
    security: list[dict[str, list[str]]] = field(default_factory=lambda: USER_AUTH)
    body: dict[str, Any] | None = None
    kwargs: dict[str, str] = field(default_factory=dict)  # fixed parts of the route
    shared: bool = False  # a secret link's `?share=` may read it too


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
        "api-samples",
        "post",
        "Push samples to a push stream (owner or staff); stored, then sent to watchers",
        json_response("Stored", ref("Stored")),
        status=201,
        errors=(400, 401, 403, 404, 405, 409, 413),
        body=ref("PushedSamples"),
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
        responses[str(status)] = json_response(ERRORS[status], ref("Error"))
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
        answer["requestBody"] = {"required": True, "content": {JSON: {"schema": operation.body}}}
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
