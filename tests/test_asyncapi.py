"""/api/asyncapi.json: valid AsyncAPI 3, in step with the parser, and enforced on every frame tests see."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import orjson
import pytest
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.test import Client
from hypothesis import given, settings
from hypothesis import strategies as st

from config.asgi import application
from streams.live import protocol
from streams.live.asyncapi import CLOSE_CODES
from streams.messages import data_frame, sample_frame, user_group
from tests.frame_contract import asyncapi, frame_check
from tests.processes import ROOT
from tests.schema_strategies import from_schema

ASYNCAPI_3 = ROOT / "node_modules" / "@asyncapi" / "specs" / "schemas" / "3.0.0.json"


def messages(direction: str) -> dict[str, Any]:
    return {
        message["name"]: message["payload"]
        for key, message in asyncapi()["channels"]["live"]["messages"].items()
        if key.startswith(direction + ".")
    }


@pytest.mark.django_db
def test_it_is_served_and_valid_asyncapi_3(client: Client) -> None:
    response = client.get("/api/asyncapi.json")
    assert response.status_code == 200
    document = orjson.loads(response.content)
    jsonschema.validate(document, json.loads(ASYNCAPI_3.read_text()))
    for schema in document["components"]["schemas"].values():
        jsonschema.Draft202012Validator.check_schema(schema)


def test_it_lists_every_command_error_code_and_close_code() -> None:
    assert set(messages("client")) == set(protocol.COMMAND_TYPES)
    assert messages("server")["error"]["properties"]["code"]["enum"] == list(protocol.ERROR_CODES)
    document_codes = asyncapi()["info"]["x-close-codes"]
    constants = {value for name, value in vars(protocol).items() if name.startswith("CLOSE_")}
    assert constants <= set(CLOSE_CODES)
    assert set(document_codes) == {str(code) for code in CLOSE_CODES}


def test_a_data_frame_as_the_producer_encodes_it_matches() -> None:
    samples = [sample_frame(7, 1_700_000_000_000, {"value": 1.5}, ["anomaly"])]
    frame_check(data_frame("sine.1", samples))


@pytest.mark.parametrize(
    "frame",
    [
        {"type": "pong", "t": 1, "server_time": 2},  # no ref
        {"type": "data", "stream": "sine.1", "samples": [{"seq": "1", "t": 2, "values": {}}]},
        {"type": "error", "code": "made_up", "message": "", "ref": None},
        {"type": "hello", "user": "a", "server_time": 1, "limits": {}, "protocol": 1, "x": 1},
        {"type": "whisper"},
    ],
)
def test_it_refuses_frames_it_does_not_describe(frame: dict[str, Any]) -> None:
    with pytest.raises(AssertionError):
        frame_check(frame)


@settings(max_examples=300, deadline=None)
@given(st.one_of([from_schema(schema) for schema in messages("client").values()]))
def test_every_command_it_describes_parses(command: dict[str, Any]) -> None:
    text = json.dumps(command)
    parsed = protocol.parse_command(text, max_backfill=asyncapi_max_backfill())
    assert type(parsed).__name__.lower() in (command["type"], "control")


def asyncapi_max_backfill() -> int:
    return messages("client")["subscribe"]["properties"]["backfill"]["maximum"]


@settings(max_examples=300, deadline=None)
@given(
    st.one_of([from_schema(schema) for schema in messages("client").values()]),
    st.sampled_from(["stream", "since", "backfill", "t", "samples", "type"]),
    st.one_of(st.none(), st.booleans(), st.floats(), st.text(max_size=5), st.lists(st.none())),
)
def test_a_mutated_command_is_refused_with_a_documented_code(
    command: dict[str, Any], name: str, value: Any
) -> None:
    mutated = {**command, name: value}
    try:
        protocol.parse_command(json.dumps(mutated), max_backfill=asyncapi_max_backfill())
    except protocol.ProtocolError as error:
        assert error.code in messages("server")["error"]["properties"]["code"]["enum"]


@pytest.mark.django_db(transaction=True)
async def test_a_frame_off_the_contract_fails_the_test_that_receives_it(owner: Any) -> None:
    """The hook of tests/frame_contract.py is on: a frame AsyncAPI does not describe fails."""
    browser = Client()
    await browser.aforce_login(owner)
    headers = [
        (b"host", b"127.0.0.1"),
        (b"origin", b"http://127.0.0.1"),
        (b"cookie", f"sessionid={browser.cookies['sessionid'].value}".encode()),
    ]
    socket = WebsocketCommunicator(application, "/ws/live/", headers=headers)
    connected, _ = await socket.connect(timeout=3)
    assert connected
    await socket.receive_json_from(timeout=3)  # hello, checked on the way
    await get_channel_layer().group_send(
        user_group(owner.pk), {"type": "user.alert", "frame": {"type": "alert"}}
    )
    with pytest.raises(AssertionError, match="breaks AsyncAPI"):
        await socket.receive_json_from(timeout=3)
    await socket.disconnect()
