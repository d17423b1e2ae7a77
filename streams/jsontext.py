"""JSON text that reads back as exactly the value written: big integers, NaN and -0.0 included.

orjson does the common case several times faster than the standard library;
what it writes differently (NaN and infinities become null) or cannot write
(integers past 64 bits, keys that are not strings) or read (such integers, NaN)
goes through `json`.
"""

from __future__ import annotations

import json
import re
from typing import Any

import orjson


def json_text(value: object) -> str:
    """Return a value as JSON text that reads back to the same value (NaN and big ints too)."""
    try:
        text = orjson.dumps(value)
    except TypeError:  # ints past 64 bits, keys that are not strings
        return json.dumps(value)
    if b"null" in text:  # orjson writes NaN and infinities as null
        return json.dumps(value)
    return text.decode()


# Nineteen digits in a row: an integer orjson would read as a float (2**63 and
# more); such text is read by json, exactly.
LONG_NUMBER = re.compile(r"\d{19}")


def json_value(text: str) -> Any:
    """Return the value of JSON text exactly (orjson, or json where orjson would not be)."""
    if LONG_NUMBER.search(text) is None:
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError:  # NaN or Infinity
            pass
    return json.loads(text)
