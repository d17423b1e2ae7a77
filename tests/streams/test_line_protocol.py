"""The line protocol parser: the specification's examples, its errors, and what clients write.

The round trips encode with the official influxdb-client's `Point`, so what that
library sends is what is read back.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from influxdb_client import Point as ClientPoint
from influxdb_client import WritePrecision

from streams.http.line_protocol import LineError, lines_parse, point_parse, time_ms


def one(line: str) -> Any:
    points, errors = lines_parse(line)
    assert errors == [], errors
    assert len(points) == 1
    point = points[0]
    return point.measurement, point.tags, point.fields, point.time


def refused(line: str) -> str:
    with pytest.raises(LineError) as caught:
        point_parse(line, 7)
    assert caught.value.line == 7
    return caught.value.message


# -- the specification's examples ---------------------------------------------


def test_the_syntax_example_reads_measurement_tags_field_and_time() -> None:
    line = 'myMeasurement,tag1=value1,tag2=value2 fieldKey="fieldValue" 1556813561098000000'
    assert one(line) == (
        "myMeasurement",
        {"tag1": "value1", "tag2": "value2"},
        {"fieldKey": "fieldValue"},
        1556813561098000000,
    )


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ('my\\ Measurement fieldKey="string value"', ("my Measurement", {}, "string value")),
        ('myMeasurement,tagKey=tag\\ Value fieldKey="x"', ("myMeasurement", {"tagKey": "tag Value"}, "x")),
        ('myMeasurement fieldKey="\\"string\\" within a string"', ("myMeasurement", {}, '"string" within a string')),
        ("myMeasurement,tag\\ Key1=tag\\ Value1,tag\\ Key2=tag\\ Value2 fieldKey=\"y\"", ("myMeasurement", {"tag Key1": "tag Value1", "tag Key2": "tag Value2"}, "y")),
        ('myMeasurement,tagKey=🍭 fieldKey="Launch 🚀"', ("myMeasurement", {"tagKey": "🍭"}, "Launch 🚀")),
        ('weather,location=us\\,midwest fieldKey="z"', ("weather", {"location": "us,midwest"}, "z")),
        ('m,a\\=b=c\\=d fieldKey="e"', ("m", {"a=b": "c=d"}, "e")),
        ('"myMeasurement",tagKey="tagValue" fieldKey="q"', ('"myMeasurement"', {"tagKey": '"tagValue"'}, "q")),
        ('m,path=C:\\Program\\ Files fieldKey="\\\\share\\\\"', ("m", {"path": "C:\\Program Files"}, "\\share\\")),
        ('m fieldKey="a\\b"', ("m", {}, "a\\b")),
        ('m fieldKey=""', ("m", {}, "")),
        ('m fieldKey="comma, space = equals"', ("m", {}, "comma, space = equals")),
    ],
)  # fmt: skip
def test_special_characters_are_read_as_the_specification_escapes_them(
    line: str, expected: tuple[str, dict[str, str], str]
) -> None:
    measurement, tags, fields, _ = one(line)
    assert (measurement, tags, fields["fieldKey"]) == expected


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ("1.0", 1.0), ("1", 1.0), ("-1.234456e+78", -1.234456e78), ("1e+78", 1e78), (".5", 0.5),
        ("1.", 1.0), ("1E-3", 0.001), ("1i", 1), ("-1i", -1), ("9223372036854775807i", 2**63 - 1),
        ("-9223372036854775808i", -(2**63)), ("1u", 1), ("18446744073709551615u", 2**64 - 1),
        ("t", True), ("T", True), ("true", True), ("True", True), ("TRUE", True),
        ("f", False), ("F", False), ("false", False), ("False", False), ("FALSE", False),
    ],
)  # fmt: skip
def test_field_values_keep_their_types(raw: str, value: Any) -> None:
    fields = one(f"m v={raw}")[2]
    assert fields["v"] == value
    assert type(fields["v"]) is type(value)


def test_comments_blank_lines_and_carriage_returns_are_skipped_and_lines_keep_their_numbers() -> (
    None
):
    body = "# This is a comment\n\nm v=1 1\r\n  \nm v=2 2\n# end"
    points, errors = lines_parse(body)
    assert errors == []
    assert [(p.line, p.fields["v"], p.time) for p in points] == [(3, 1.0, 1), (5, 2.0, 2)]


def test_several_fields_and_no_timestamp() -> None:
    assert one("cpu,host=a usage_user=1.5,usage_idle=98i,ok=true") == (
        "cpu",
        {"host": "a"},
        {"usage_user": 1.5, "usage_idle": 98, "ok": True},
        None,
    )


# -- errors name the line and what is wrong -----------------------------------


@pytest.mark.parametrize(
    ("line", "says"),
    [
        ("m", "missing fields"),
        ("m ", "missing fields"),
        ("m,tag=1", "missing fields"),
        ("m,=x f=1", "tag 1"),
        ("m,t= f=1", "tag 1"),
        ("m,a=1,b f=1", "tag 2"),
        ("m f", "field 1"),
        ("m f=1,", "field 2"),
        ('m f="open', "field 1"),
        ("m f=one", "field 'f': invalid value 'one'"),
        ("m f=inf", "field 'f'"),
        ("m f=NaN", "field 'f'"),
        ("m f=1.5i", "field 'f'"),
        ("m f=-1u", "field 'f'"),
        ("m f=9223372036854775808i", "out of range for a 64-bit integer"),
        ("m f=18446744073709551616u", "out of range for a 64-bit unsigned"),
        ("m f=1e999", "out of range for a float"),
        ("m f=1 12x", "timestamp must be a whole number; got '12x'"),
        ("m f=1 1 2", "timestamp"),
        ("m f=1 1.5", "timestamp"),
        (",t=1 f=1", "starts with a measurement"),
    ],
)
def test_a_bad_line_says_what_is_wrong(line: str, says: str) -> None:
    assert says in refused(line)


def test_bad_lines_are_named_and_good_ones_kept() -> None:
    points, errors = lines_parse("m v=1\nm v=oops\nm v=3\nm\n")
    assert [p.line for p in points] == [1, 3]
    assert [e.line for e in errors] == [2, 4]
    assert str(errors[0]).startswith("line 2: field 'v'")


@pytest.mark.parametrize(
    ("precision", "time", "ms"),
    [("ns", 1556813561098000000, 1556813561098), ("us", 1556813561098000, 1556813561098),
     ("ms", 1556813561098, 1556813561098), ("s", 1556813561, 1556813561000),
     ("ns", 1_999_999, 1)],
)  # fmt: skip
def test_timestamps_become_milliseconds_by_precision(precision: str, time: int, ms: int) -> None:
    assert time_ms(time, precision) == ms


# -- round trips with the official client's encoder ----------------------------

# What the client writes as it is given: no line breaks or tabs (it writes those as
# `\n`, `\t`), no name ending in a backslash (it could not be told from an escape).
NAME_ALPHABET = st.characters(blacklist_categories=["Cs", "Cc"], blacklist_characters="\n\r\t")
names = st.text(NAME_ALPHABET, min_size=1, max_size=12).filter(
    lambda name: not name.endswith("\\") and not name.startswith("#") and name.strip() == name
)
strings = st.text(st.characters(blacklist_categories=["Cs"], blacklist_characters="\n\r"))
values = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False),
    st.integers(-(2**63), 2**63 - 1),
    st.booleans(),
    strings,
)


@settings(max_examples=300, deadline=None)
@given(
    measurement=names,
    tags=st.dictionaries(names, names, max_size=4),
    fields=st.dictionaries(names, values, min_size=1, max_size=5),
    time=st.one_of(st.none(), st.integers(0, 2**62)),
)
def test_what_the_client_writes_is_read_back(
    measurement: str, tags: dict[str, str], fields: dict[str, Any], time: int | None
) -> None:
    point = ClientPoint(measurement)
    for key, value in tags.items():
        point.tag(key, value)
    for key, value in fields.items():
        point.field(key, value)
    if time is not None:
        point.time(time, WritePrecision.NS)
    line = point.to_line_protocol()
    assert one(line) == (measurement, tags, fields, time)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_any_text_is_points_or_named_errors(body: str) -> None:
    points, errors = lines_parse(body)
    lines = body.split("\n")
    for number in [point.line for point in points] + [error.line for error in errors]:
        assert 1 <= number <= len(lines)
    assert all(isinstance(error, LineError) for error in errors)
