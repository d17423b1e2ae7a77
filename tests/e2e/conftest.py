"""A real server: `manage.py serve` (uvicorn with the producer) on a free port and its own database."""

from __future__ import annotations

import http.cookiejar
import os
import subprocess
import sys
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.conftest import free_port, wait_for_port

ROOT = Path(__file__).resolve().parents[2]


def run_manage(env: dict[str, str], *args: str) -> str:
    """Run `manage.py` with `env`; return its output, or fail the test with its errors."""
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if result.returncode != 0:
        raise AssertionError(f"manage.py {' '.join(args)} failed:\n{result.stderr}")
    return result.stdout


@dataclass
class ServerProcess:
    port: int
    env: dict[str, str]
    process: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def manage(self, *args: str) -> str:
        """Run a management command against this server's database; return its output."""
        return run_manage(self.env, *args)

    def token(self, username: str = "demo") -> str:
        return self.manage("createtoken", username).split()[-1]

    def log(self) -> str:
        return self.log_path.read_text() if self.log_path else ""


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
    port = free_port()
    env = dict(
        os.environ,
        DATABASE_URL=database_url,
        HOST="127.0.0.1",
        PORT=str(port),
        SECRET_KEY="e2e-secret-key-" + uuid.uuid4().hex,
        PULSEBOARD_RECONCILE_SECONDS="0.5",
        PULSEBOARD_MAX_CONNECTIONS_PER_USER="50",
        PULSEBOARD_WS_PING_INTERVAL="2",
        PULSEBOARD_WS_PING_TIMEOUT="2",
        PYTHONUNBUFFERED="1",
    )
    env.pop("REDIS_URL", None)
    log_path = tmp_path / "server.log"
    server = ServerProcess(port=port, env=env, log_path=log_path)
    server.manage("migrate", "--noinput", "-v", "0")
    server.manage("seed", "--no-history")
    with open(log_path, "wb") as log:
        server.process = subprocess.Popen(
            [sys.executable, "manage.py", "serve", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for_port(port)
        yield server
    finally:
        server.process.terminate()
        try:
            server.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.process.kill()
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
