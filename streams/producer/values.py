"""What a pushed value must be to be stored in a field: the one check every ingest path makes.

A `number` field takes finite numbers (not true/false) from -1e300 to 1e300; a
`text` field takes strings of at most 200 characters, never numbers. Nothing is
converted: `"21.5"` is refused by a number field, `5` by a text field. A stream
that declares no fields takes numbers or text under any name.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from streams.models import field_type

MAX_TEXT_VALUE = 200
# Rollups add values up: a day of 1 kHz sums 86.4 million of them, which stays
# finite for magnitudes up to this.
MAX_MAGNITUDE = 1e300


# A busy database asks pushers to come back after this many seconds (503, Retry-After).
BUSY_RETRY_SECONDS = 1


class IngestError(Exception):
    """A refused batch; nothing of it was stored. `field` names the refused field, if one was."""

    def __init__(self, code: str, message: str, status: int = 400, field: str | None = None):
        super().__init__(message)
        self.code, self.message, self.status, self.field = code, message, status, field

    @property
    def retry_after(self) -> int | None:
        """Return the seconds after which to send the batch again (busy, 503), else None."""
        return BUSY_RETRY_SECONDS if self.status == 503 else None


def field_types(fields: Any) -> dict[str, str]:
    """Return field name → type for a stream's declared fields."""
    return {
        item["name"]: field_type(item)
        for item in fields
        if isinstance(item, dict) and isinstance(item.get("name"), str)
    }


def _described(value: Any) -> str:
    """Return what kind of JSON value `value` is, for an error message."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "text"
    return "a list" if isinstance(value, list) else "an object"


def number_problem(value: Any) -> str | None:
    """Return why `value` is no storable number, or None when it is one."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return f"must be a number; got {_described(value)}"
    if isinstance(value, float) and not math.isfinite(value):
        return "must be a finite number"
    if not -MAX_MAGNITUDE <= value <= MAX_MAGNITUDE:
        return "must be from -1e300 to 1e300 (sums of larger values overflow)"
    return None


def text_problem(value: Any) -> str | None:
    """Return why `value` is no storable text, or None when it is some."""
    if not isinstance(value, str):
        return f"must be text; got {_described(value)}"
    if len(value) > MAX_TEXT_VALUE:
        return f"is longer than {MAX_TEXT_VALUE} characters"
    return None


def value_problem(value: Any, kind: str | None) -> str | None:
    """Return why `value` may not be stored in a field of type `kind` (None: undeclared)."""
    if kind == "number":
        return number_problem(value)
    if kind == "text":
        return text_problem(value)
    if kind is None:
        if isinstance(value, str):
            return text_problem(value)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return number_problem(value)
        return f"must be a number or text; got {_described(value)}"
    return f"is a {kind} field, which only its source writes"


def values_check(
    values: Any, *, types: Mapping[str, str], slug: str, where: str = "values"
) -> dict[str, Any]:
    """Return `values`, or raise IngestError naming the first field its stream would not store.

    `types` is the stream's declared fields (empty: any name, numbers or text).
    """
    if not isinstance(values, dict) or not values:
        raise IngestError(
            "missing_field" if values is None else "invalid_field",
            f"{where} must be a non-empty object.",
        )
    for name, value in values.items():
        kind = types.get(name)
        if types and kind is None:
            raise IngestError(
                "invalid_field", f"{where}.{name} is not a field of {slug}.", field=name
            )
        problem = value_problem(value, kind)
        if problem:
            typed = f" ({name} is a {kind} field)" if kind in ("number", "text") else ""
            raise IngestError("invalid_field", f"{where}.{name} {problem}{typed}.", field=name)
    return values
