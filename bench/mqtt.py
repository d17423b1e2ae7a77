"""MQTT through a real broker: the bridge's CPU per message, and broker-to-browser latency.

`drain`: a private mosquitto, a broker of demo's routed to a push stream, and
`manage.py mqttbridge` as its own process. The bridge connects once (the broker
keeps its session), is stopped, --messages (50,000) QoS 1 messages are published
while it is down, and it is started again: its CPU from start until every message
is stored, less the CPU of a start with nothing waiting, per message. Target: at
most what 20k messages/s per core needs (50 µs). The same preloaded queue is also
drained by bare clients (paho-mqtt with manual acknowledgements, aiomqtt), which
store nothing: the floor each library puts under the bridge.

`latency`: `manage.py serve` with the bridges inside (PULSEBOARD_MQTT_BRIDGES=1),
a publisher at --rate (1,000) messages/s for --seconds (20) each carrying its send
time, a WebSocket viewer of the stream and `mosquitto_sub` on the same topic in the
same run: p50/p99/max from publish to each. Target: the viewer's p99 ≤ 100 ms.

    .venv/bin/python bench/mqtt.py [drain|latency|all] [--database sqlite|postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import psutil
from paho.mqtt.enums import CallbackAPIVersion

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (
    PYTHON,
    ROOT,
    Database,
    PulseboardServer,
    banner,
    fmt,
    percentile,
    scratch_directory,
    table,
    verdict,
)

from tests.devices.mosquitto import Mosquitto
from tests.processes import run_manage, server_env, spawn, stop_process

TOPIC = "bench/meter"
SETUP = """
from django.contrib.auth import get_user_model
from devices.models import Broker, Route
from streams.models import Stream
demo = get_user_model().objects.get_or_create(username="demo")[0]
stream = Stream.objects.create(slug="mqtt.bench", title="MQTT bench", source_kind="push",
    owner=demo, is_public=True, fields=[{"name": "value", "unit": ""}, {"name": "sent", "unit": "ms"}])
broker = Broker.objects.create(owner=demo, name="bench", url="{url}")
Route.objects.create(broker=broker, topic="bench/+", stream=stream)
"""
ALLOW_LOOPBACK = {"PULSEBOARD_WEBHOOK_ALLOWED_NETWORKS": "127.0.0.0/8"}


def publish(port: int, count: int, *, rate: float = 0.0) -> None:
    """Publish `count` QoS 1 messages ({"value": i, "sent": ms}), at `rate` per second if given."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-publisher")
    client.max_inflight_messages_set(1000)
    client.max_queued_messages_set(0)
    client.connect("127.0.0.1", port)
    client.loop_start()
    started = time.perf_counter()
    last = None
    for number in range(count):
        if rate:
            delay = started + number / rate - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
        body = json.dumps({"value": number, "sent": time.time() * 1000})
        last = client.publish(TOPIC, body, qos=1)
    if last is not None:
        last.wait_for_publish(120)
    client.disconnect()
    client.loop_stop()


def stored_count(env: dict[str, str]) -> int:
    code = "from streams.models import Sample; print(Sample.objects.filter(stream__slug='mqtt.bench').count())"
    return int(run_manage(env, "shell", "-c", code).split()[-1])


def broker_status(env: dict[str, str]) -> str:
    """Return what the bridge says of the broker (read straight from SQLite when it is that)."""
    url = env["DATABASE_URL"]
    if url.startswith("sqlite:///"):
        import sqlite3

        with sqlite3.connect(url.removeprefix("sqlite:///"), timeout=10) as db:
            return str(db.execute("SELECT status FROM devices_broker").fetchone()[0])
    code = "from devices.models import Broker; print(Broker.objects.get().status or '-')"
    return run_manage(env, "shell", "-c", code).strip()


def wait_for(check: Any, timeout: float, what: str, every: float = 0.2) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(every)
    raise TimeoutError(f"{what}: not within {timeout:.0f} s")


class Bridge:
    """`manage.py mqttbridge` as its own process, its CPU read from outside."""

    def __init__(self, env: dict[str, str], log: Path):
        self.process = spawn([PYTHON, "manage.py", "mqttbridge"], env=env, log_path=log)
        self.gauge = psutil.Process(self.process.pid)

    def cpu(self) -> float:
        times = self.gauge.cpu_times()
        return float(times.user + times.system)

    def stop(self) -> None:
        stop_process(self.process)


def sqlite_count(database: Database) -> int:
    import sqlite3

    with sqlite3.connect(database.path, timeout=10) as db:
        row = db.execute(
            "SELECT count(*) FROM streams_sample s JOIN streams_stream t ON t.id = s.stream_id"
            " WHERE t.slug = 'mqtt.bench'"
        ).fetchone()
    return int(row[0])


def bridge_run(env: dict[str, str], log: Path, count: Any, until: int) -> tuple[float, float]:
    """Start a bridge, wait until `count()` reaches `until` and it is idle; return (CPU s, wall s)."""
    started = time.monotonic()
    bridge = Bridge(env, log)
    try:
        wait_for(lambda: count() >= until, 600, f"{until} samples stored", every=0.05)
        wall = time.monotonic() - started
        time.sleep(0.5)
        return bridge.cpu(), wall
    finally:
        bridge.stop()


def drain(args: argparse.Namespace, directory: Path) -> list[list[Any]]:
    directory.mkdir(parents=True, exist_ok=True)
    database = Database(args.database, directory)
    rows: list[list[Any]] = []
    try:
        with Mosquitto(directory) as mosquitto:
            env = server_env(database.url, **ALLOW_LOOPBACK, LOG_LEVEL="WARNING")
            run_manage(env, "migrate", "--noinput", "-v", "0")
            run_manage(env, "shell", "-c", SETUP.replace("{url}", mosquitto.url))
            count = (
                (lambda: sqlite_count(database))
                if database.kind == "sqlite"
                else (lambda: stored_count(env))
            )
            # First start: the session is made; one message, so "stored" can be seen.
            bridge = Bridge(env, directory / "bridge-0.log")
            wait_for(lambda: broker_status(env) == "connected", 60, "the bridge connected")
            publish(mosquitto.port, 1)
            wait_for(lambda: count() >= 1, 60, "the first message")
            bridge.stop()
            # A start with nothing waiting: what starting costs (Django, connecting).
            idle_cpu, _ = bridge_run(env, directory / "bridge-1.log", count, 1)
            publish(mosquitto.port, args.messages)
            busy_cpu, wall = bridge_run(env, directory / "bridge-2.log", count, args.messages + 1)
            per_message = (busy_cpu - idle_cpu) / args.messages
            rows.append(
                [
                    f"bridge → {database.kind}",
                    fmt(args.messages),
                    fmt(per_message * 1e6),
                    fmt(1 / per_message, 0),
                    fmt(args.messages / wall, 0),
                    verdict(per_message <= 50e-6),
                ]
            )
            for library in ("paho", "aiomqtt"):
                cpu = bare_client_drain(library, mosquitto.port, args.messages)
                rows.append(
                    [
                        f"bare {library} client (stores nothing)",
                        fmt(args.messages),
                        fmt(cpu / args.messages * 1e6),
                        fmt(args.messages / cpu, 0),
                        "",
                        "",
                    ]
                )
    finally:
        database.drop()
    return rows


BARE_CLIENT = r"""
import asyncio, json, sys, threading, time
library, port, expected = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
first = [0.0]
if library == "paho":
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion
    from paho.mqtt.packettypes import PacketTypes
    from paho.mqtt.properties import Properties
    done, got = threading.Event(), [0]
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-bare", protocol=mqtt.MQTTv5,
                         manual_ack=True)
    def on_message(c, u, m):
        if not got[0]:
            first[0] = time.process_time()
        c.ack(m.mid, m.qos)
        got[0] += 1
        if got[0] >= expected:
            done.set()
    def on_subscribe(*a):
        print("READY", flush=True)
    client.on_message = on_message
    client.on_subscribe = on_subscribe
    client.on_connect = lambda c, u, f, r, pr: c.subscribe("bench/+", qos=1)
    properties = Properties(PacketTypes.CONNECT)
    properties.ReceiveMaximum = 1000
    client.connect("127.0.0.1", port, properties=properties)
    client.loop_start()
    done.wait(300)
    cpu = time.process_time() - first[0]
    client.disconnect(); client.loop_stop()
else:
    import aiomqtt
    async def main():
        got = 0
        async with aiomqtt.Client("127.0.0.1", port, identifier="bench-bare") as client:
            await client.subscribe("bench/+", qos=1)
            print("READY", flush=True)
            async for message in client.messages:
                if not got:
                    first[0] = time.process_time()
                got += 1
                if got >= expected:
                    break
        return time.process_time() - first[0]
    cpu = asyncio.run(main())
print("RESULT", json.dumps(cpu), flush=True)
"""


def bare_client_drain(library: str, port: int, count: int) -> float:
    """Return the CPU seconds a bare subscriber of `library` spends on `count` QoS 1 messages.

    Its own process's CPU, from its first message to its last, while this process publishes.
    """
    child = subprocess.Popen(
        [PYTHON, "-c", BARE_CLIENT, library, str(port), str(count)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    assert child.stdout is not None
    try:
        line = child.stdout.readline()
        assert line.startswith("READY"), f"the {library} client did not subscribe: {line!r}"
        publish(port, count)
        line = child.stdout.readline()
        return float(json.loads(line.split(" ", 1)[1]))
    finally:
        stop_process(child)  # type: ignore[arg-type]


# -- latency ----------------------------------------------------------------------


async def viewer(url: str, stop: asyncio.Event, delays: list[float]) -> None:
    """Watch the stream over /ws/live/; note each sample's delay from its publish."""
    from websockets.asyncio.client import connect

    async with connect(url, compression=None, max_size=None) as ws:
        await ws.send(json.dumps({"type": "subscribe", "stream": "mqtt.bench"}))
        while not stop.is_set():
            try:
                message = json.loads(await asyncio.wait_for(ws.recv(), 0.5))
            except TimeoutError:
                continue
            if message.get("type") == "data":
                now = time.time() * 1000
                delays.extend(now - sample["values"]["sent"] for sample in message["samples"])


def mosquitto_sub(
    port: int, stop: threading.Event, delays: list[float], ready: threading.Event
) -> None:
    """Read the same topic with mosquitto_sub; note each message's delay from its publish."""
    child = subprocess.Popen(
        ["mosquitto_sub", "-h", "127.0.0.1", "-p", str(port), "-t", "bench/+", "-q", "1"],
        stdout=subprocess.PIPE,
        text=True,
        bufsize=1,
    )
    assert child.stdout is not None
    ready.set()
    try:
        for line in child.stdout:
            delays.append(time.time() * 1000 - json.loads(line)["sent"])
            if stop.is_set():
                break
    finally:
        stop_process(child)  # type: ignore[arg-type]


def latency(args: argparse.Namespace, directory: Path) -> list[list[Any]]:
    directory.mkdir(parents=True, exist_ok=True)
    database = Database(args.database, directory)
    rows: list[list[Any]] = []
    try:
        with Mosquitto(directory) as mosquitto:
            server = PulseboardServer(
                database,
                log_dir=directory,
                running=[],
                env={**ALLOW_LOOPBACK, "PULSEBOARD_MQTT_BRIDGES": "1"},
            )
            server.prepare()
            server.manage("shell", "-c", SETUP.replace("{url}", mosquitto.url))
            server.start()
            try:
                wait_for(lambda: broker_status(server.env) == "connected", 60, "the bridge")
                rows = latency_run(args, server, mosquitto)
            finally:
                server.stop()
    finally:
        database.drop()
    return rows


def latency_run(
    args: argparse.Namespace, server: PulseboardServer, mosquitto: Mosquitto
) -> list[list[Any]]:
    seen: list[float] = []
    heard: list[float] = []
    stop_sub, ready = threading.Event(), threading.Event()
    sub = threading.Thread(target=mosquitto_sub, args=(mosquitto.port, stop_sub, heard, ready))
    sub.start()
    ready.wait(10)

    async def run() -> None:
        stop = asyncio.Event()
        url = f"{server.ws_url}/ws/live/?token={server.token}"
        watching = asyncio.create_task(viewer(url, stop, seen))
        await asyncio.sleep(1.0)
        count = int(args.rate * args.seconds)
        await asyncio.to_thread(publish, mosquitto.port, count, rate=args.rate)
        await asyncio.sleep(2.0)
        stop.set()
        await watching

    asyncio.run(run())
    stop_sub.set()
    publish(mosquitto.port, 1)  # wakes mosquitto_sub so its thread ends
    sub.join(10)
    rows = []
    sent = int(args.rate * args.seconds)
    for name, delays in (("browser (WebSocket viewer)", seen), ("mosquitto_sub", heard)):
        ordered = sorted(delays[:sent])
        rows.append(
            [
                name,
                fmt(len(ordered)),
                fmt(percentile(ordered, 50)),
                fmt(percentile(ordered, 99)),
                fmt(ordered[-1] if ordered else float("nan")),
                verdict(percentile(ordered, 99) <= 100) if name.startswith("browser") else "",
            ]
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("part", nargs="?", default="all", choices=["drain", "latency", "all"])
    parser.add_argument("--database", default="sqlite", choices=["sqlite", "postgres"])
    parser.add_argument("--messages", type=int, default=50_000)
    parser.add_argument("--rate", type=float, default=1000.0)
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args()
    banner("MQTT: bridge CPU per message, broker-to-browser latency")
    with scratch_directory() as directory:
        if args.part in ("drain", "all"):
            rows = drain(args, directory / "drain")
            print(f"\nDraining {args.messages:,} QoS 1 messages queued while the bridge was down")
            print(
                table(
                    ["who", "messages", "CPU µs/msg", "msg/s per core", "msg/s wall", "≤ 50 µs"],
                    rows,
                )
            )
        if args.part in ("latency", "all"):
            rows = latency(args, directory / "latency")
            print(f"\nPublish → receive at {args.rate:,.0f} msg/s for {args.seconds:.0f} s (ms)")
            print(table(["reader", "messages", "p50", "p99", "max", "p99 ≤ 100 ms"], rows))


if __name__ == "__main__":
    main()
