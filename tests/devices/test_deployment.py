"""The deployments bring a broker: docker-compose.yml and `make cluster` run mosquitto as docs/ingest.md asks."""

from __future__ import annotations

from typing import Any

import yaml  # schemathesis' dependency, pinned with it

from tests.processes import ROOT


def compose() -> dict[str, Any]:
    return dict(yaml.safe_load((ROOT / "docker-compose.yml").read_text()))


def test_compose_runs_mosquitto_keeping_sessions_without_a_queue_cap() -> None:
    document = compose()
    mosquitto = document["services"]["mosquitto"]
    assert mosquitto["image"].startswith("eclipse-mosquitto:2")
    conf = document["configs"][mosquitto["configs"][0]["source"]]["content"]
    assert mosquitto["command"][-1] == mosquitto["configs"][0]["target"]
    assert {"persistence true", "max_queued_messages 0", "listener 1883"} <= set(conf.splitlines())
    assert mosquitto["ports"][0].startswith("${BIND_ADDRESS:-127.0.0.1}:")


def test_compose_worker_runs_the_bridges() -> None:
    worker = compose()["services"]["worker"]
    assert worker["command"][-1] == "produce"
    assert worker["environment"]["PULSEBOARD_MQTT_BRIDGES"] == "1"
    # The rest of the shared settings still reach it.
    assert "DATABASE_URL" in worker["environment"]


def test_make_cluster_starts_mosquitto_and_bridges_in_its_worker() -> None:
    script = (ROOT / "scripts" / "cluster.sh").read_text()
    assert "/usr/sbin/mosquitto -c" in script
    assert "max_queued_messages 0" in script and "persistence true" in script
    assert 'PULSEBOARD_MQTT_BRIDGES=1 PULSEBOARD_ALERT_SENDER=0 "$PY" manage.py produce' in script
