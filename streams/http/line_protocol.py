"""InfluxDB line protocol: text lines parsed into points, each bad line named by its number.

`measurement[,tag=value...] field=value[,field=value...] [timestamp]`, one point a
line, as Telegraf and the influxdb-client libraries write it. A backslash escapes
a comma or a space in the measurement, and a comma, an equals sign or a space in
tag keys, tag values and field keys; anywhere else it is itself. String field
values are double-quoted, with `\\"` and `\\\\` inside. Field values are floats
(`1`, `-1.5`, `1e+20`), integers (`1i`), unsigned integers (`1u`), strings or
booleans (`t`, `T`, `true`, `True`, `TRUE` and the same for false). Blank lines
and lines starting with `#` are skipped; a newline always ends a line.

Own code rather than a library: the maintained parsers seen read one line and say
only "failed to parse", where a write's answer must name the line and the field.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

FieldValue = float | int | str | bool

MAX_INTEGER = 2**63 - 1
MAX_UNSIGNED = 2**64 - 1
TRUE_WORDS = frozenset({"t", "T", "true", "True", "TRUE"})
FALSE_WORDS = frozenset({"f", "F", "false", "False", "FALSE"})
DIGITS = frozenset("0123456789.")
# Nanoseconds in one unit of each precision the write API accepts.
PRECISIONS = {"ns": 1, "us": 1_000, "ms": 1_000_000, "s": 1_000_000_000}

# A backslash before a character the part escapes is the escape; any other backslash
# is a backslash (so `\\,` is a backslash and an escaped comma, as InfluxDB reads it).
MEASUREMENT = re.compile(r"(?:[^, \\]|\\[, ]|\\)+")
TAG = re.compile(r",((?:[^,= \\]|\\[,= ]|\\)+)=((?:[^,= \\]|\\[,= ]|\\)+)")
FIELD = re.compile(r'((?:[^,= \\]|\\[,= ]|\\)+)=("(?:[^"\\]|\\.)*"|[^," ]+)')
SPACES = re.compile(r" +")
TIMESTAMP = re.compile(r"-?[0-9]+")
FLOAT = re.compile(r"-?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?")
INTEGER = re.compile(r"-?[0-9]+i")
UNSIGNED = re.compile(r"[0-9]+u")
MEASUREMENT_ESCAPE = re.compile(r"\\([, ])")
KEY_ESCAPE = re.compile(r"\\([,= ])")
STRING_ESCAPE = re.compile(r'\\(["\\])')


@dataclass(frozen=True)
class Point:
    """One parsed line: its number in the body (from 1), what it says, and its time if given."""

    line: int
    measurement: str
    tags: dict[str, str]
    fields: dict[str, FieldValue]
    time: int | None


class LineError(ValueError):
    """A line that is no point; `line` is its number in the body (from 1)."""

    def __init__(self, line: int, message: str):
        super().__init__(f"line {line}: {message}")
        self.line, self.message = line, message


def key_unescaped(text: str) -> str:
    return KEY_ESCAPE.sub(r"\1", text) if "\\" in text else text


def field_value(raw: str, *, key: str, line: int) -> FieldValue:
    """Return the value `raw` writes, or raise LineError naming the field."""
    last = raw[-1]
    if raw[0] == '"':
        return STRING_ESCAPE.sub(r"\1", raw[1:-1]) if "\\" in raw else raw[1:-1]
    if last in DIGITS and FLOAT.fullmatch(raw):
        value = float(raw)
        if value in (math.inf, -math.inf):
            raise LineError(line, f"field {key!r}: {raw} is out of range for a float")
        return value
    if last == "i" and INTEGER.fullmatch(raw):
        number = int(raw[:-1])
        if not -MAX_INTEGER - 1 <= number <= MAX_INTEGER:
            raise LineError(line, f"field {key!r}: {raw} is out of range for a 64-bit integer")
        return number
    if last == "u" and UNSIGNED.fullmatch(raw):
        number = int(raw[:-1])
        if number > MAX_UNSIGNED:
            raise LineError(line, f"field {key!r}: {raw} is out of range for a 64-bit unsigned")
        return number
    if raw in TRUE_WORDS:
        return True
    if raw in FALSE_WORDS:
        return False
    raise LineError(
        line,
        f"field {key!r}: invalid value {raw[:40]!r} (a number, 1i, 1u, true/false "
        'or a "quoted string")',
    )


def point_parse(text: str, line: int) -> Point:
    """Return the point one line writes, or raise LineError saying what is wrong and where."""
    match = MEASUREMENT.match(text)
    if match is None:
        raise LineError(line, "a line starts with a measurement name")
    measurement = MEASUREMENT_ESCAPE.sub(r"\1", match[0]) if "\\" in match[0] else match[0]
    at = match.end()
    tags: dict[str, str] = {}
    while at < len(text) and text[at] == ",":
        tag = TAG.match(text, at)
        if tag is None:
            raise LineError(
                line,
                f"tag {len(tags) + 1} must be key=value, neither empty "
                "(escape commas, equals signs and spaces with a backslash)",
            )
        tags[key_unescaped(tag[1])] = key_unescaped(tag[2])
        at = tag.end()
    gap = SPACES.match(text, at)
    if gap is None or gap.end() == len(text):
        raise LineError(line, "missing fields (a space, then key=value pairs)")
    at = gap.end()
    fields: dict[str, FieldValue] = {}
    while True:
        field = FIELD.match(text, at)
        if field is None:
            raise LineError(
                line,
                f"field {len(fields) + 1} must be key=value "
                '(strings in double quotes, with \\" and \\\\ inside)',
            )
        key = key_unescaped(field[1])
        fields[key] = field_value(field[2], key=key, line=line)
        at = field.end()
        if at < len(text) and text[at] == ",":
            at += 1
            continue
        break
    time = None
    if at < len(text):
        gap = SPACES.match(text, at)
        stamp = TIMESTAMP.fullmatch(text, gap.end()) if gap is not None else None
        if stamp is None:
            raise LineError(
                line, f"the timestamp must be a whole number; got {text[at:].strip()[:40]!r}"
            )
        time = int(stamp[0])
    return Point(line, measurement, tags, fields, time)


def lines_parse(body: str) -> tuple[list[Point], list[LineError]]:
    """Return the points of every good line, and what is wrong with each bad one."""
    points: list[Point] = []
    errors: list[LineError] = []
    for number, raw in enumerate(body.split("\n"), 1):
        text = raw.strip(" \t\r")
        if not text or text.startswith("#"):
            continue
        try:
            points.append(point_parse(text, number))
        except LineError as error:
            errors.append(error)
    return points, errors


def time_ms(time: int, precision: str) -> int:
    """Return a line's timestamp, given in `precision`, as whole UTC milliseconds."""
    return time * PRECISIONS[precision] // 1_000_000
