"""The schemas of the HTTP API's bodies, for the OpenAPI document (streams/http/openapi.py)."""

from __future__ import annotations

from typing import Any

from streams.catalog import MAX_FIELDS
from streams.messages import SLUG_PATTERN
from streams.models import FIELD_TYPES, SOURCE_FIELD_TYPES

JSON = "application/json"
# JSON Schema patterns are ECMA-262 regular expressions: no `\Z`.
SLUG_SCHEMA = {"type": "string", "pattern": SLUG_PATTERN.replace(r"\Z", "$")}


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
FIELD_TYPE = {
    "enum": [*FIELD_TYPES, *SOURCE_FIELD_TYPES],
    "description": "`number` or `text`; `trade` and `book` are a market's structured values",
}
FIELD = obj(
    {"name": {"type": "string"}, "unit": {"type": "string"}, "type": FIELD_TYPE},
    optional=("unit",),
)
NEW_FIELD = {
    **obj(
        {
            "name": {"type": "string", "minLength": 1},
            "unit": {"type": "string"},
            "type": {
                "enum": list(FIELD_TYPES),
                "default": "number",
                "description": "Pushed values must be of this type: finite numbers, or text",
            },
        },
        optional=("unit", "type"),
    ),
    "additionalProperties": False,
}
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
                "description": "A number for a `number` field, text for a `text` field",
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
    "NewField": NEW_FIELD,
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
    "NewStream": {
        **obj(
            {
                "slug": SLUG_SCHEMA,
                "title": {"type": "string", "minLength": 1, "maxLength": 200},
                "source_kind": {
                    "enum": [
                        "sensor",
                        "system",
                        "sine",
                        "anomaly",
                        "business",
                        "market",
                        "replay",
                        "push",
                    ]
                },
                "fields": {
                    "type": "array",
                    "items": ref("NewField"),
                    "maxItems": MAX_FIELDS,
                    "description": "push streams",
                },
                "settings": {"type": "object", "description": "the source's settings"},
                "public": {"type": "boolean"},
                "retention_seconds": {"type": "integer", "minimum": 60},
            },
            optional=("fields", "settings", "public", "retention_seconds"),
        ),
        "additionalProperties": False,
    },
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
