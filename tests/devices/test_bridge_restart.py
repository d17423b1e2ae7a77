"""The bridge killed in the middle of a burst: after a restart every message is stored exactly once.

A real mosquitto (persistent sessions, no queue cap), `manage.py mqttbridge` as its
own process on its own SQLite database, and a paho client publishing numbered
messages with QoS 1. The bridge is killed (SIGKILL, as a crash) while the burst
runs and started again after it; what was sent meanwhile waited in the broker.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from devices.models import Broker, PayloadFormat
from devices.routes import route_table
from devices.store import Message, messages_store
from streams.models import Sample, Stream
from tests.devices.mosquitto import Mosquitto
from tests.processes import PYTHON, kill_process, run_manage, server_env, spawn, stop_process
from tests.support.samples import database_samples

BURST = 3_000
SETUP = """
from django.contrib.auth import get_user_model
from devices.models import Broker, Route
from streams.models import Stream
alice = get_user_model().objects.create_user("alice", "a@example.com", "alice-password")
stream = Stream.objects.create(slug="burst", title="Burst", source_kind="push", owner=alice,
    fields=[{"name": "value", "unit": ""}])
broker = Broker.objects.create(owner=alice, name="Home", url="{url}")
Route.objects.create(broker=broker, topic="burst/+", stream=stream)
"""


def stored(database: Path) -> list[tuple[int, int]]:
    """Return (seq, value) of every stored sample of the stream, in seq order."""
    return [
        (sample.seq, sample.values["value"])
        for sample in database_samples(f"sqlite:///{database}", "burst")
    ]


def status(database: Path) -> str:
    with sqlite3.connect(database, timeout=10) as db:
        return str(db.execute("SELECT status FROM devices_broker").fetchone()[0])


def wait_until(check: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise AssertionError(f"{what}: not within {timeout} s")


def burst_publish(mosquitto: Mosquitto, done: threading.Event) -> None:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="burst-device")
    client.max_inflight_messages_set(100)
    client.connect("127.0.0.1", mosquitto.port)
    client.loop_start()
    try:
        for number in range(BURST):
            client.publish("burst/meter", json.dumps({"value": number}), qos=1)
            if number % 100 == 99:
                time.sleep(0.01)  # a burst, not one write: the bridge is killed inside it
        wait_until(lambda: not client.want_write(), 30, "the publisher's queue")
        time.sleep(0.5)
    finally:
        client.disconnect()
        client.loop_stop()
        done.set()


@pytest.mark.chaos
def test_a_bridge_killed_during_a_burst_loses_nothing_and_stores_nothing_twice(
    tmp_path: Path,
) -> None:
    database = tmp_path / "bridge.sqlite3"
    env = server_env(f"sqlite:///{database}", PULSEBOARD_WEBHOOK_ALLOWED_NETWORKS="127.0.0.0/8")
    with Mosquitto(tmp_path) as mosquitto:
        run_manage(env, "migrate", "--noinput", "-v", "0")
        run_manage(env, "shell", "-c", SETUP.replace("{url}", mosquitto.url))
        command = [PYTHON, "manage.py", "mqttbridge"]
        bridge = spawn(command, env=env, log_path=tmp_path / "bridge-1.log")
        try:
            wait_until(lambda: status(database) == "connected", 60, "the bridge connected")
            mosquitto.publish("burst/meter", json.dumps({"value": -1}))
            wait_until(lambda: len(stored(database)) == 1, 60, "the first message")
            done = threading.Event()
            publisher = threading.Thread(target=burst_publish, args=(mosquitto, done))
            publisher.start()
            wait_until(lambda: len(stored(database)) > 300, 60, "part of the burst")
            kill_process(bridge)
            killed_at = len(stored(database))
            publisher.join(60)
            assert done.is_set()
            bridge = spawn(command, env=env, log_path=tmp_path / "bridge-2.log")
            # The dead bridge's lease runs out first; then the new one takes the session.
            wait_until(lambda: len(stored(database)) >= BURST + 1, 90, "the whole burst")
            time.sleep(1.0)  # anything stored twice would arrive now
        finally:
            stop_process(bridge)
        rows = stored(database)
    assert killed_at < BURST + 1, "the bridge was killed after the burst, not in it"
    assert [seq for seq, _ in rows] == list(range(1, BURST + 2))
    assert sorted(value for _, value in rows) == list(range(-1, BURST))


@pytest.mark.django_db
def test_a_message_sent_again_after_it_was_stored_is_dropped(
    owner: Any, push_stream: Stream
) -> None:
    broker = Broker.objects.create(
        owner=owner, name="Home", url="mqtt://127.0.0.1", payload_format=PayloadFormat.AUTO
    )
    broker.routes.create(topic="home/meter", stream=push_stream)
    table = route_table(broker.pk)
    first = Message("home/meter", b"7", packet_id=42)
    messages_store(broker_id=broker.pk, messages=[first], table=table, payload_format="auto")
    # The acknowledgement never reached the broker: it sends the message again, DUP set.
    again = Message("home/meter", b"7", packet_id=42, dup=True)
    outcome = messages_store(
        broker_id=broker.pk, messages=[again], table=table, payload_format="auto"
    )
    assert outcome.duplicates == 1
    # Another message under the same packet id (the id reused after the acknowledgement).
    other = Message("home/meter", b"8", packet_id=42, dup=True)
    messages_store(broker_id=broker.pk, messages=[other], table=table, payload_format="auto")
    assert list(Sample.objects.filter(stream=push_stream).values_list("values", flat=True)) == [
        {"value": 7},
        {"value": 8},
    ]
