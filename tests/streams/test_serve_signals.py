"""`manage.py serve` stopped by a signal: uvicorn shuts down, then the producer hands back its leases."""

from __future__ import annotations

import signal
import sqlite3
import time
from pathlib import Path

import pytest

from tests.processes import WebServer, database_prepare, server_env


def leases(database: Path) -> list[str]:
    """Return the holder of every stream lease ("" for one handed back)."""
    with sqlite3.connect(database) as connection:
        return [row[0] for row in connection.execute("SELECT holder FROM streams_streamlease")]


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_stops_serve_in_good_order(tmp_path: Path, signum: signal.Signals) -> None:
    database = tmp_path / "serve.sqlite3"
    env = server_env(f"sqlite:///{database}")
    database_prepare(env, running=["sine.1khz"])
    server = WebServer(env, log_path=tmp_path / "serve.log")
    server.start()
    try:
        deadline = time.monotonic() + 20
        while not any(leases(database)):
            assert time.monotonic() < deadline, "the producer took no lease"
            time.sleep(0.1)
        assert server.process is not None
        server.process.send_signal(signum)
        # Not ended by the signal uvicorn raises again after shutting down.
        assert server.process.wait(timeout=30) == 0, server.log_tail()
    finally:
        server.kill()
    assert leases(database) and not any(leases(database)), "leases were not handed back"
    assert "Traceback" not in server.log(), server.log_tail()
