"""What an MQTT message says, as samples: the payload formats a broker may carry.

- a bare value: `21.5` (a number; anything else is text, which only a text field takes)
- a JSON object of fields: `{"temperature": 21.5, "ts": 1700000000000}` (`ts`, if
  there, is the time in UTC milliseconds, not a field)
- ThingsBoard: `{"ts": ms, "values": {...}}`, a plain object of fields, or a list of either
- `auto`: whichever of these the message is

A sample without a time is stamped by the server when it is stored. The samples go
through the same checks as an HTTP push (`streams.producer.ingest.ingest_validate`).
"""

from __future__ import annotations

import re
from typing import Any

import orjson

from devices.models import PayloadFormat

# A message is a reading or a few; anything this large is a mistake or an attack.
MAX_PAYLOAD_BYTES = 64 * 1024
# Home Assistant's simplest templates: `{{ value_json.temperature }}`, `{{ value_json['t'] }}`.
VALUE_TEMPLATE = re.compile(
    r"^\{\{\s*value_json(?:\.(\w+)|\[\s*['\"]([^'\"]+)['\"]\s*\])\s*(?:\|\s*float\s*)?\}\}$"
)


class PayloadError(Exception):
    """A message that is no sample of its stream; the text says why."""


def template_key(template: str) -> str:
    """Return the JSON key a Home Assistant `value_template` reads ("" for none or one we cannot read)."""
    found = VALUE_TEMPLATE.match(template.strip())
    return (found.group(1) or found.group(2)) if found else ""


def decoded(payload: bytes) -> Any:
    """Return the payload as JSON, or as text when it is not JSON; raise PayloadError if neither."""
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise PayloadError(f"The payload is {len(payload)} bytes; at most {MAX_PAYLOAD_BYTES}.")
    try:
        return orjson.loads(payload)
    except orjson.JSONDecodeError:
        pass
    try:
        text = payload.decode("utf-8").strip()
    except UnicodeDecodeError:
        raise PayloadError("The payload is not UTF-8 text.") from None
    if not text:
        raise PayloadError("The payload is empty.")
    return text


def bare_sample(value: Any, field: str) -> dict[str, Any]:
    if isinstance(value, dict | list):
        raise PayloadError("Expected a bare number or text; got JSON with fields.")
    return {"values": {field: value}}


def fields_sample(value: Any, where: str = "the payload") -> dict[str, Any]:
    """Return the sample of a JSON object of fields, its `ts` taken as the time."""
    if not isinstance(value, dict):
        raise PayloadError(f"Expected {where} to be a JSON object of fields.")
    values = dict(value)
    ts = values.pop("ts", None)
    return {"values": values} if ts is None else {"t": ts, "values": values}


def thingsboard_sample(item: Any, where: str) -> dict[str, Any]:
    """Return the sample of `{"ts", "values"}` or of a plain object of fields."""
    if isinstance(item, dict) and "values" in item:
        extra = set(item) - {"ts", "values"}
        if extra:
            raise PayloadError(f"{where} has unknown keys: {', '.join(sorted(extra))}.")
        sample = {"values": item["values"]}
        if item.get("ts") is not None:
            sample["t"] = item["ts"]
        return sample
    return fields_sample(item, where)


def sample_time(sample: dict[str, Any]) -> int:
    """Return a sample's time for sorting (0 when it has none or a bad one, refused later)."""
    t = sample.get("t")
    return t if isinstance(t, int) and not isinstance(t, bool) else 0


def thingsboard_samples(value: Any) -> list[dict[str, Any]]:
    if isinstance(value, list):
        samples = [thingsboard_sample(item, f"item {i}") for i, item in enumerate(value)]
        # ThingsBoard's devices send a list in any order; a stream's samples go in time order.
        return sorted(samples, key=sample_time)
    return [thingsboard_sample(value, "the payload")]


def payload_samples(
    payload: bytes, *, payload_format: str, field: str, value_key: str = ""
) -> list[dict[str, Any]]:
    """Return the samples (`{"t"?, "values"}`) a message carries; raise PayloadError if none.

    `field` names the field a bare value is stored in; `value_key` picks one key
    of a JSON object as that value (a Home Assistant `value_template`).
    """
    value = decoded(payload)
    if value_key:
        if not isinstance(value, dict) or value_key not in value:
            raise PayloadError(f"Expected a JSON object with {value_key!r}.")
        return [bare_sample(value[value_key], field)]
    if payload_format == PayloadFormat.NUMBER:
        return [bare_sample(value, field)]
    if payload_format == PayloadFormat.JSON:
        return [fields_sample(value)]
    if payload_format == PayloadFormat.THINGSBOARD:
        return thingsboard_samples(value)
    if isinstance(value, dict | list):
        return thingsboard_samples(value)
    return [bare_sample(value, field)]
