"""The official influxdb-client writes through /api/v2/write of a real server on loopback."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest
from influxdb_client import InfluxDBClient, Point, WritePrecision
from influxdb_client.client.write_api import SYNCHRONOUS
from influxdb_client.rest import ApiException

from tests.e2e.servers import ServerProcess

pytestmark = pytest.mark.e2e


@pytest.fixture(params=[False, True], ids=["plain", "gzip"])
def influx(server: ServerProcess, request: pytest.FixtureRequest) -> Iterator[InfluxDBClient]:
    with InfluxDBClient(
        url=server.base_url, token=server.token(), org="any", enable_gzip=request.param
    ) as client:
        yield client


def samples_of(server: ServerProcess, slug: str) -> list[dict[str, object]]:
    status, body = server.get(
        f"/api/streams/{slug}/samples?from=0&limit=100", f"Token {server.api_token}"
    )
    assert status == 200, body
    return [sample["values"] for sample in json.loads(body)["samples"]]


def fresh_bucket(name: str) -> str:
    return f"{name}{time.monotonic_ns() % 10**12}"


def test_points_and_records_land_in_a_stream(server: ServerProcess, influx: InfluxDBClient) -> None:
    bucket = fresh_bucket("client")
    now_ms = int(time.time() * 1000)
    points = [
        Point("climate").tag("room", "lab 1").field("temperature", 21.5).field("on", True)
        .field("count", 3).field("note", 'said "hi"').time(now_ms - 20, WritePrecision.MS),
        "climate,room=lab\\ 1 temperature=22,on=false,count=4i,note=\"ok\"",
    ]  # fmt: skip
    write = influx.write_api(write_options=SYNCHRONOUS)
    write.write(bucket=bucket, record=points)  # precision ns: the client scales the ms time
    assert samples_of(server, f"{bucket}.climate.lab-1") == [
        {"temperature": 21.5, "on": 1, "count": 3, "note": 'said "hi"'},
        {"temperature": 22, "on": 0, "count": 4, "note": "ok"},
    ]


def test_a_partial_write_raises_with_influxdbs_answer(
    server: ServerProcess, influx: InfluxDBClient
) -> None:
    write = influx.write_api(write_options=SYNCHRONOUS)
    bucket = fresh_bucket("partial")
    with pytest.raises(ApiException) as raised:
        write.write(bucket=bucket, record="m v=1\nm v=bad\nm v=3")
    assert raised.value.status == 400
    answer = json.loads(raised.value.body)
    assert (answer["code"], answer["line"]) == ("invalid", 2)
    assert answer["message"].startswith("partial write error (2 written)")
    assert samples_of(server, f"{bucket}.m") == [{"v": 1}, {"v": 3}]


def test_a_wrong_token_is_401(server: ServerProcess) -> None:
    client = InfluxDBClient(url=server.base_url, token="pb_not-a-token", org="any")
    with client, pytest.raises(ApiException) as raised:
        client.write_api(write_options=SYNCHRONOUS).write(bucket="b", record="m v=1")
    assert raised.value.status == 401
