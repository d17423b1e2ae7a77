"""A real server: `manage.py serve` (uvicorn with the producer) on a free port and its own database."""

from __future__ import annotations

import http.cookiejar
import os
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Generator, Iterator
from functools import cached_property
from pathlib import Path
from typing import TypeVar

import pytest

from tests.processes import WebServer, database_prepare, server_env

Served = TypeVar("Served", bound=WebServer)

# What Prometheus sends as `Authorization: Bearer …` to read the server's /metrics.
METRICS_TOKEN = "e2e-scrape-" + uuid.uuid4().hex


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


class ServerProcess(WebServer):
    """`manage.py serve` of the end-to-end tests, with the seeded demo user."""

    def token(self, username: str = "demo") -> str:
        return self.manage("createtoken", username).split()[-1]

    @cached_property
    def api_token(self) -> str:
        """Return a token of demo's, issued once, for tests that poll the HTTP API."""
        return self.token()

    def get(self, path: str, authorization: str = "") -> tuple[int, str]:
        """GET `path` with an optional Authorization header; return the status and body."""
        headers = {"Authorization": authorization} if authorization else {}
        request = urllib.request.Request(self.base_url + path, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()


def e2e_database(tmp_path: Path) -> tuple[str, str | None]:
    """Return a DATABASE_URL of a fresh database, and the PostgreSQL name to drop after."""
    base = os.environ.get("DATABASE_URL", "")
    if not base.startswith(("postgres://", "postgresql://")):
        return f"sqlite:///{tmp_path / 'e2e.sqlite3'}", None
    import psycopg

    name = f"pulseboard_e2e_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(base, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    parts = urllib.parse.urlsplit(base)
    return urllib.parse.urlunsplit(parts._replace(path=f"/{name}")), name


def drop_database(name: str) -> None:
    import psycopg

    with psycopg.connect(os.environ["DATABASE_URL"], autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


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
    )
    server = ServerProcess(env, log_path=tmp_path / "server.log")
    yield from served(server, pg_name)


def served(server: Served, pg_name: str | None) -> Iterator[Served]:
    """Prepare the server's database, serve, and drop a PostgreSQL database after."""
    database_prepare(server.env)
    try:
        with server:
            yield server
    finally:
        if pg_name:
            drop_database(pg_name)


class Browserless:
    """A logged-in HTTP session, the way a browser holds one (cookies and CSRF)."""

    def __init__(self, base_url: str):
        self.base_url = base_url
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    def cookie(self, name: str) -> str | None:
        return next((c.value for c in self.jar if c.name == name), None)

    def get(self, path: str) -> tuple[int, str]:
        try:
            with self.opener.open(self.base_url + path, timeout=10) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()

    def login(self, username: str, password: str) -> bool:
        self.get("/accounts/login/")
        body = urllib.parse.urlencode(
            {
                "username": username,
                "password": password,
                "csrfmiddlewaretoken": self.cookie("csrftoken"),
            }
        ).encode()
        request = urllib.request.Request(
            self.base_url + "/accounts/login/", data=body, headers={"Referer": self.base_url + "/"}
        )
        with self.opener.open(request, timeout=10):
            pass
        return self.cookie("sessionid") is not None

    def ws_headers(self) -> dict[str, str]:
        return {"Cookie": f"sessionid={self.cookie('sessionid')}"}


@pytest.fixture
def demo_session(server: ServerProcess) -> Browserless:
    session = Browserless(server.base_url)
    assert session.login("demo", "demo"), "demo / demo could not log in"
    return session


# Playwright fixtures of the browser tests: `browser` (one Chromium per session), `tabs` (per test).
from tests.e2e.browser import browser, tabs  # noqa: E402, F401
