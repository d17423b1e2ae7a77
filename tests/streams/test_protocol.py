"""parse_command: every command, and a stable error code for every malformed frame."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from streams.live.protocol import (
    ERROR_CODES,
    Control,
    Ping,
    ProtocolError,
    Publish,
    Subscribe,
    Unsubscribe,
    parse_command,
)

MAX_BACKFILL = 500


def parse(message: Any) -> Any:
    text = message if isinstance(message, str) else json.dumps(message)
    return parse_command(text, max_backfill=MAX_BACKFILL)


def error_of(message: Any) -> ProtocolError:
    with pytest.raises(ProtocolError) as caught:
        parse(message)
    assert caught.value.code in ERROR_CODES
    return caught.value


# -- the commands -------------------------------------------------------------


def test_it_parses_subscribe() -> None:
    assert parse({"type": "subscribe", "stream": "sensors.lab-1"}) == Subscribe(
        "sensors.lab-1", None, 0, None
    )


def test_it_parses_subscribe_with_since_backfill_and_ref() -> None:
    command = parse(
        {"type": "subscribe", "stream": "sine.1khz", "since": 41, "backfill": 50, "ref": "r1"}
    )
    assert command == Subscribe("sine.1khz", 41, 50, "r1")


def test_it_accepts_the_largest_backfill_and_zero() -> None:
    assert parse({"type": "subscribe", "stream": "s", "backfill": MAX_BACKFILL}).backfill == 500
    assert parse({"type": "subscribe", "stream": "s", "backfill": 0}).backfill == 0
    assert parse({"type": "subscribe", "stream": "s", "since": 0}).since == 0


def test_it_treats_null_optional_fields_as_absent() -> None:
    command = parse({"type": "subscribe", "stream": "s", "since": None, "backfill": None})
    assert command == Subscribe("s", None, 0, None)


def test_it_parses_unsubscribe() -> None:
    assert parse({"type": "unsubscribe", "stream": "price.btc-usd", "ref": 7}) == Unsubscribe(
        "price.btc-usd", 7
    )


def test_it_parses_start_and_stop() -> None:
    assert parse({"type": "start", "stream": "system.host"}) == Control("system.host", True, None)
    assert parse({"type": "stop", "stream": "system.host"}) == Control("system.host", False, None)


def test_it_parses_ping_with_and_without_t() -> None:
    assert parse({"type": "ping", "t": 1234.5}) == Ping(1234.5, None)
    assert parse({"type": "ping"}) == Ping(0, None)


def test_it_parses_publish() -> None:
    samples = [{"t": 1, "values": {"value": 2}}]
    assert parse({"type": "publish", "stream": "push.demo", "samples": samples}) == Publish(
        "push.demo", samples, None
    )


def test_it_ignores_unknown_extra_fields() -> None:
    assert parse({"type": "ping", "t": 1, "colour": "red"}) == Ping(1, None)


def test_it_keeps_a_ref_only_when_it_is_a_short_string_or_an_integer() -> None:
    assert parse({"type": "ping", "ref": "x" * 64}).ref == "x" * 64
    assert parse({"type": "ping", "ref": "x" * 65}).ref is None
    assert parse({"type": "ping", "ref": True}).ref is None
    assert parse({"type": "ping", "ref": {"a": 1}}).ref is None


# -- malformed frames ----------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    ["", "{", "ping", "{'type': 'ping'}", '{"type": "ping",}', "NaN", "[" * 2000 + "]" * 2000],
)
def test_it_refuses_text_that_is_not_json(text: str) -> None:
    assert error_of(text).code == "invalid_json"


def test_it_refuses_numbers_too_large_for_a_double() -> None:
    assert error_of('{"type": "ping", "t": 1e400}').code == "invalid_json"


def test_it_refuses_deep_nesting_inside_an_object() -> None:
    text = '{"type": "publish", "stream": "s", "samples": ' + "[" * 5000 + "]" * 5000 + "}"
    assert error_of(text).code == "invalid_json"


@pytest.mark.parametrize("text", ["[]", '["ping"]', "42", '"ping"', "null", "true"])
def test_it_refuses_json_that_is_not_an_object(text: str) -> None:
    assert error_of(text).code == "not_an_object"


def test_it_refuses_a_frame_without_a_type() -> None:
    error = error_of({"stream": "s", "ref": "r9"})
    assert (error.code, error.ref) == ("missing_field", "r9")


def test_it_refuses_a_type_of_null_as_missing() -> None:
    assert error_of({"type": None}).code == "missing_field"


@pytest.mark.parametrize("kind", ["subscribed", "hello", "PING", "", 3, ["ping"], {"a": 1}, True])
def test_it_refuses_unknown_types(kind: Any) -> None:
    error = error_of({"type": kind, "ref": 5})
    assert (error.code, error.ref) == ("unknown_type", 5)


def test_it_does_not_echo_a_huge_unknown_type() -> None:
    error = error_of({"type": "x" * 10_000})
    assert error.code == "unknown_type"
    assert len(error.message) < 200


@pytest.mark.parametrize("kind", ["subscribe", "unsubscribe", "start", "stop", "publish"])
def test_it_refuses_stream_commands_without_a_stream(kind: str) -> None:
    assert error_of({"type": kind, "samples": []}).code == "missing_field"


@pytest.mark.parametrize(
    "stream",
    [
        None,
        3,
        True,
        ["sensors.lab-1"],
        "",
        "-leading-dash",
        "has space",
        "stream/../other",
        "s" * 81,
        "ünïcode",
    ],
)
def test_it_refuses_a_stream_that_is_not_a_slug(stream: Any) -> None:
    assert error_of({"type": "subscribe", "stream": stream}).code == "invalid_field"


def test_it_refuses_a_slug_with_a_trailing_newline() -> None:
    assert error_of({"type": "subscribe", "stream": "sensors.lab-1\n"}).code == "invalid_field"


def test_it_accepts_slugs_with_capitals_like_the_market_streams() -> None:
    assert parse({"type": "subscribe", "stream": "price.BTC-USD"}).stream == "price.BTC-USD"


def test_it_accepts_the_longest_slug() -> None:
    assert parse({"type": "subscribe", "stream": "s" * 80}).stream == "s" * 80


@pytest.mark.parametrize("backfill", [-1, MAX_BACKFILL + 1, 2**70, 1.5, 10.0, "10", True, [10]])
def test_it_refuses_backfill_outside_its_range_or_not_whole(backfill: Any) -> None:
    assert error_of({"type": "subscribe", "stream": "s", "backfill": backfill}).code == (
        "invalid_field"
    )


@pytest.mark.parametrize("since", [-1, 2**62 + 1, 2**64, 3.0, "3", False, {"seq": 3}])
def test_it_refuses_since_outside_its_range_or_not_whole(since: Any) -> None:
    assert error_of({"type": "subscribe", "stream": "s", "since": since}).code == "invalid_field"


@pytest.mark.parametrize("t", ["now", True, None, [1], {"t": 1}])
def test_it_refuses_a_ping_time_that_is_not_a_number(t: Any) -> None:
    assert error_of({"type": "ping", "t": t}).code == "invalid_field"


@pytest.mark.parametrize("samples", [None, {"t": 1}, "[]", 3])
def test_it_refuses_publish_samples_that_are_not_a_list(samples: Any) -> None:
    message = {"type": "publish", "stream": "push.demo", "samples": samples}
    assert error_of(message).code == "invalid_field"


def test_it_refuses_publish_without_samples() -> None:
    assert error_of({"type": "publish", "stream": "push.demo"}).code == "invalid_field"


def test_errors_carry_the_ref_of_the_command() -> None:
    error = error_of({"type": "subscribe", "stream": "s", "backfill": -1, "ref": "abc"})
    assert error.ref == "abc"
    assert "backfill" in error.message


# -- nothing but ProtocolError ------------------------------------------------

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)
command_like = st.fixed_dictionaries(
    {},
    optional={
        "type": st.sampled_from(["subscribe", "unsubscribe", "start", "stop", "ping", "publish"])
        | json_values,
        "stream": st.from_regex(r"\A[a-z0-9][a-z0-9._-]{0,10}\Z") | json_values,
        "since": st.integers(-5, 2**63) | json_values,
        "backfill": st.integers(-5, 2 * MAX_BACKFILL) | json_values,
        "t": json_values,
        "ref": json_values,
        "samples": json_values,
    },
)


def outcome(text: str) -> None:
    try:
        command = parse_command(text, max_backfill=MAX_BACKFILL)
    except ProtocolError as error:
        assert error.code in ERROR_CODES
        assert isinstance(error.message, str) and error.message
    else:
        assert isinstance(command, Subscribe | Unsubscribe | Control | Ping | Publish)


@given(st.text())
def test_arbitrary_text_gives_a_command_or_a_protocol_error(text: str) -> None:
    outcome(text)


@given(json_values | command_like)
def test_arbitrary_json_gives_a_command_or_a_protocol_error(value: Any) -> None:
    outcome(json.dumps(value))


@given(command_like)
def test_a_parsed_subscribe_is_always_within_its_limits(value: dict[str, Any]) -> None:
    try:
        command = parse_command(json.dumps(value), max_backfill=MAX_BACKFILL)
    except ProtocolError:
        return
    if isinstance(command, Subscribe):
        assert 0 <= command.backfill <= MAX_BACKFILL
        assert command.since is None or 0 <= command.since <= 2**62
