"""The end-to-end tests' servers: `manage.py serve` on a free port with its own database.

`ServerProcess` is the server (the seeded demo user, its tokens, plain GETs),
`e2e_database` a fresh SQLite file or PostgreSQL database for it, `served` the
lifetime around it, `Browserless` a logged-in HTTP session held as a browser does.
"""

from __future__ import annotations

import http.cookiejar
import os
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from functools import cached_property
from pathlib import Path
from typing import TypeVar

from tests.processes import WebServer, database_prepare

Served = TypeVar("Served", bound=WebServer)

# What Prometheus sends as `Authorization: Bearer …` to read the server's /metrics.
METRICS_TOKEN = "e2e-scrape-" + uuid.uuid4().hex


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
