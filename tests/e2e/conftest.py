"""Fixtures of the end-to-end tests: a real server (tests/e2e/servers.py), a demo session, browsers."""

from __future__ import annotations

from collections.abc import Generator, Iterator
from pathlib import Path

import pytest

from tests.e2e.servers import METRICS_TOKEN, Browserless, ServerProcess, e2e_database, served
from tests.processes import server_env


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """A failed test of processes that keep logs (a cluster's) reports each log's end."""
    report = yield
    if report.when == "call" and report.failed:
        for value in getattr(item, "funcargs", {}).values():
            log_dir = getattr(value, "log_dir", None)
            if not isinstance(log_dir, Path):
                continue
            for log in sorted(log_dir.glob("*.log")):
                tail = log.read_text(errors="replace").splitlines()[-80:]
                report.sections.append((f"end of {log.name}", "\n".join(tail)))
    return report


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    tmp_path = tmp_path_factory.mktemp("server")
    database_url, pg_name = e2e_database(tmp_path)
    env = server_env(
        database_url,
        PULSEBOARD_METRICS_TOKEN=METRICS_TOKEN,
        # The loopback demo: the known demo login the browser tests type.
        PULSEBOARD_DEMO="1",
        PULSEBOARD_RECONCILE_SECONDS="0.5",
        PULSEBOARD_MAX_CONNECTIONS_PER_USER="50",
        PULSEBOARD_WS_PING_INTERVAL="2",
        PULSEBOARD_WS_PING_TIMEOUT="2",
        # test_faults.py holds the database locked for 5 s from another process: with
        # the default 1.6 s leases, which cannot be renewed through it, the producer
        # would rightly stop publishing 1.3 s in (docs/operations.md, failures).
        PULSEBOARD_LEASE_SECONDS="10",
    )
    server = ServerProcess(env, log_path=tmp_path / "server.log")
    yield from served(server, pg_name)


@pytest.fixture
def demo_session(server: ServerProcess) -> Browserless:
    session = Browserless(server.base_url)
    assert session.login("demo", "demo"), "demo / demo could not log in"
    return session


# Playwright fixtures of the browser tests: `browser` (one Chromium per session), `tabs` (per test).
from tests.e2e.browser import browser, tabs  # noqa: E402, F401
