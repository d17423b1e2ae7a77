"""`make cluster` (scripts/cluster.sh) starts Redis, a Daphne and a uvicorn web process,
a worker that serve the same live stream, and the alerts worker that sends notices, and
stops them all on Ctrl-C."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import urllib.request
from pathlib import Path

import pytest
from websockets.asyncio.client import connect

from tests.alerts.alert_helpers import Receiver
from tests.processes import LOOPBACK, ROOT, free_port, run_manage, server_env, wait_for_port

pytestmark = pytest.mark.e2e

# A test notice queued as "Send test" queues it, for the alerts worker to send.
QUEUE_TEST = """
from django.contrib.auth import get_user_model
from alerts.delivery import contact_send_test
from alerts.services import contact_save
demo = get_user_model().objects.get(username="demo")
contact_send_test(contact=contact_save(owner=demo, name="Hook", kind="webhook", url="{url}"))
"""


def healthz(port: int) -> dict[str, str]:
    with urllib.request.urlopen(f"http://{LOOPBACK}:{port}/healthz", timeout=10) as response:
        return json.loads(response.read())


async def first_data(port: int, token: str) -> dict[str, object]:
    async with connect(f"ws://{LOOPBACK}:{port}/ws/live/?token={token}") as ws:
        await ws.send(json.dumps({"type": "subscribe", "stream": "sensors.lab-1"}))
        async with asyncio.timeout(20):
            async for text in ws:
                frame = json.loads(text)
                if frame["type"] == "data":
                    return frame
    raise AssertionError("no data")


def test_the_cluster_script_serves_live_data_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    web_ports, redis_port = [free_port(), free_port()], free_port()
    env = server_env(
        f"sqlite:///{tmp_path / 'cluster.sqlite3'}",
        PULSEBOARD_WEBHOOK_ALLOWED_NETWORKS="127.0.0.0/8",
    )
    receiver = Receiver().start()
    env |= {
        "WEB_PORTS": " ".join(map(str, web_ports)),
        "REDIS_PORT": str(redis_port),
        "RUN_DIR": str(tmp_path),
        "SEED_ARGS": "--no-history",
    }
    log = (tmp_path / "cluster.out").open("wb")
    script = subprocess.Popen(
        ["bash", "scripts/cluster.sh"], cwd=ROOT, env=env, stdout=log, stderr=log
    )
    try:
        for port in (*web_ports, redis_port):
            wait_for_port(port, 120, process=script)
        assert [healthz(port)["status"] for port in web_ports] == ["ok", "ok"]
        token_env = env | {"REDIS_URL": f"redis://{LOOPBACK}:{redis_port}/0"}
        token = run_manage(token_env, "createtoken", "demo").split()[-1]
        for port in web_ports:
            assert asyncio.run(first_data(port, token))["stream"] == "sensors.lab-1"
        run_manage(token_env, "shell", "-c", QUEUE_TEST.format(url=receiver.url))
        assert receiver.wait_for(1, seconds=20), "the alerts worker sent nothing"
    finally:
        script.send_signal(signal.SIGINT)
        script.wait(timeout=30)
        log.close()
        receiver.stop()
    for port in (*web_ports, redis_port):
        with pytest.raises(TimeoutError):
            wait_for_port(port, 1.0)
    output = (tmp_path / "cluster.out").read_text()
    assert "Demo login: demo / " in output
    # The notice went out through the alerts worker, which stopped cleanly with the rest.
    assert receiver.received[0].json["state"] == "test"
    assert (tmp_path / "alerts.log").read_text().rstrip().endswith("Stopped.")
