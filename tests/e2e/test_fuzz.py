"""Fuzzed against a real server: schemathesis from /api/schema.json, hypothesis over AsyncAPI.

Both ask the same of the server: no 5xx, answers the documents describe, no
connection closed over bad input, and a healthy server afterwards.
"""

from __future__ import annotations

import json
import subprocess
import urllib.request
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websockets.sync.client import ClientConnection, connect

from streams.live.protocol import ERROR_CODES
from tests.e2e.servers import ServerProcess
from tests.frame_contract import frame_check
from tests.processes import PYTHON, server_env
from tests.schema_strategies import from_schema

pytestmark = pytest.mark.e2e

SCHEMATHESIS_SECONDS = 45
# Every check (all are enabled in the configuration below; `--checks all` would
# override its per-operation lines). A range whose `from` is not before its `to` is valid to the schema but refused (400):
# OpenAPI cannot say that one parameter must be smaller than another.
# A secret link that does not exist reads nothing, like one that does not show the
# stream: 404, where `ignored_auth` expects 401 for a bad credential. A new stream's
# `settings` are checked by its source (a sine's rate, a replay's range): rules that
# depend on `source_kind`, and the number of streams a user may make, are beyond the
# schema too.
SCHEMATHESIS_CONFIG = """
checks.enabled = true

[[operations]]
include-path-regex = "/(history|samples|export)"
checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403", "404", "409"]

[[operations]]
include-path-regex = "^/api/streams/$"
include-method = "POST"
checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403", "409"]

[[operations]]
include-path-regex = "/(history|export)|/samples$"
include-method = "GET"
checks.ignored_auth.enabled = false
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A server of its own whose command rate a fuzzer does not exhaust."""
    tmp_path = tmp_path_factory.mktemp("fuzz")
    env = server_env(
        f"sqlite:///{tmp_path / 'fuzz.sqlite3'}",
        PULSEBOARD_COMMANDS_PER_SECOND="100000",
        PULSEBOARD_COMMAND_BURST="100000",
        # Streams the fuzzer makes run their sources: a few, so they do not load the machine.
        PULSEBOARD_MAX_STREAMS_PER_USER="3",
    )
    server = ServerProcess(env, log_path=tmp_path / "server.log")
    server.manage("migrate", "--noinput", "-v", "0")
    server.manage("seed", "--no-history")
    with server:
        yield server


def fetch_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read())


def healthy(server: ServerProcess) -> bool:
    return fetch_json(server.base_url + "/healthz")["status"] == "ok"


def test_schemathesis_finds_nothing(server: ServerProcess, tmp_path: Path) -> None:
    config = tmp_path / "schemathesis.toml"
    config.write_text(SCHEMATHESIS_CONFIG)
    command = [
        *(PYTHON, "-m", "schemathesis.cli", "--config-file", str(config), "run"),
        server.base_url + "/api/schema.json",
        *("--max-time", str(SCHEMATHESIS_SECONDS)),
        *("--header", f"Authorization: Token {server.token()}"),
        *("--seed", "1", "--request-timeout", "10", "--no-color", "--max-failures", "20"),
        *("--generation-database", "none", "--warnings", "off"),
    ]
    result = subprocess.run(
        command, capture_output=True, text=True, timeout=SCHEMATHESIS_SECONDS + 60, cwd=tmp_path
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert healthy(server)
    assert "Traceback" not in server.log()


# -- the live socket -----------------------------------------------------------------


@pytest.fixture(scope="module")
def asyncapi(server: ServerProcess) -> dict[str, Any]:
    return fetch_json(server.base_url + "/api/asyncapi.json")


@pytest.fixture(scope="module")
def socket(server: ServerProcess) -> Any:
    url = f"{server.ws_url}/ws/live/?token={server.token()}"
    with connect(url, open_timeout=10) as connection:
        frame_check(connection.recv(timeout=10))  # hello
        yield connection


def replies_until_pong(connection: ClientConnection, ping: int) -> list[dict[str, Any]]:
    """Ping; return every frame up to the matching pong, each checked against AsyncAPI."""
    connection.send(orjson.dumps({"type": "ping", "t": ping}).decode())
    frames = []
    while True:
        text = connection.recv(timeout=10)
        frame_check(text)
        frames.append(frame := orjson.loads(text))
        if frame["type"] == "pong" and frame["t"] == ping:
            return frames


def commands(document: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Commands as the document describes them, and frames mutated from them."""
    schemas = [
        message["payload"]
        for key, message in document["channels"]["live"]["messages"].items()
        if key.startswith("client.")
    ]
    valid = st.one_of([from_schema(schema) for schema in schemas])
    anything = st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
        max_leaves=8,
    )
    mutated = st.tuples(valid, st.text(max_size=10), anything).map(
        lambda parts: {**parts[0], parts[1] or "type": parts[2]}
    )
    text = st.text(max_size=60) | st.binary(max_size=60)
    return st.one_of(valid, mutated, anything, text)


def test_hypothesis_over_the_live_protocol_finds_nothing(
    server: ServerProcess, asyncapi: dict[str, Any], socket: ClientConnection
) -> None:
    pings = iter(range(10**9, 2 * 10**9))

    @settings(
        max_examples=300,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(commands(asyncapi))
    def sent_anything_the_socket_stays_open(command: Any) -> None:
        if isinstance(command, str | bytes):
            socket.send(command)
        else:
            socket.send(json.dumps(command, ensure_ascii=False))
        for frame in replies_until_pong(socket, next(pings)):
            if frame["type"] == "error":
                assert frame["code"] in ERROR_CODES and frame["code"] != "internal", frame

    sent_anything_the_socket_stays_open()
    assert healthy(server)
    assert "Traceback" not in server.log()


def test_a_client_leaving_during_a_backfill_is_not_an_error(server: ServerProcess) -> None:
    url = f"{server.ws_url}/ws/live/?token={server.token()}"
    for _ in range(5):
        with connect(url, open_timeout=10) as connection:
            connection.recv(timeout=10)  # hello
            command = {"type": "subscribe", "stream": "sine.1khz", "backfill": 10_000}
            connection.send(json.dumps(command))
    assert healthy(server)
    assert "command failed" not in server.log()
    assert "Traceback" not in server.log()
