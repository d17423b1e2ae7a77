"""Query parameters the API reads, declared once: the views parse them, OpenAPI describes them."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest

from streams.clock import now_ms

# ASCII digits only: `int()` would also take " 5", "1_000" and other scripts' digits.
WHOLE_NUMBER = re.compile(r"-?[0-9]{1,20}")
DEFAULT_SPAN_MS = 3_600_000


class BadParameter(Exception):
    pass


@dataclass(frozen=True)
class IntQuery:
    """A whole-number query parameter from `low` to `high`, at most once; absent: the default."""

    name: str
    description: str
    low: int
    high: int

    def parse(self, request: HttpRequest, default: int) -> int:
        """Return the parameter's value, or raise BadParameter saying what is wrong."""
        given = request.GET.getlist(self.name)
        if not given:
            return default
        if len(given) > 1:
            raise BadParameter(f"`{self.name}` may be given once.")
        raw = given[0]
        if not WHOLE_NUMBER.fullmatch(raw):
            raise BadParameter(f"`{self.name}` must be a whole number, got {raw[:40]!r}.")
        value = int(raw)
        if not self.low <= value <= self.high:
            raise BadParameter(f"`{self.name}` must be from {self.low} to {self.high}.")
        return value

    def openapi(self) -> dict[str, Any]:
        """Return the OpenAPI parameter object of this parameter."""
        return {
            "name": self.name,
            "in": "query",
            "required": False,
            "description": self.description,
            "schema": {"type": "integer", "minimum": self.low, "maximum": self.high},
        }


MAX_TIME_MS = 2**53

FROM = IntQuery(
    "from",
    "Start of the range, UTC milliseconds (inclusive); default: an hour before `to`.",
    0,
    MAX_TIME_MS,
)
TO = IntQuery("to", "End of the range, UTC milliseconds (exclusive); default: now.", 0, MAX_TIME_MS)
TIME_RANGE = (FROM, TO)


def time_range(request: HttpRequest) -> tuple[int, int]:
    """Return [from, to) in ms from the query; the default is the last hour."""
    end = TO.parse(request, now_ms())
    start = FROM.parse(request, end - DEFAULT_SPAN_MS)
    if start >= end:
        raise BadParameter("`from` must be earlier than `to`.")
    return start, end
