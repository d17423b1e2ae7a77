"""Credentials: known demo passwords only on the loopback demo, a deployment Django finds
safe, and the demo on a network that a phone can log in to over plain HTTP."""

from __future__ import annotations

import http.cookiejar
import importlib.util
import io
import os
import re
import secrets
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any
from unittest import mock

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client

from tests.processes import PYTHON, ROOT, WebServer, run_manage, server_env

SETTINGS_FILE = ROOT / "config" / "settings.py"
DEMO_LOGIN = re.compile(r"^Demo login: demo / (\S+)$", re.MULTILINE)
ADMIN_LOGIN = re.compile(r"^Admin login: admin / (\S+)", re.MULTILINE)
# 127.0.0.2 stands for another address of the machine: tests reach loopback only.
OTHER_ADDRESS = "127.0.0.2"


def seed(*args: str) -> str:
    out = io.StringIO()
    call_command("seed", "--no-history", *args, stdout=out)
    return out.getvalue()


def printed_passwords(output: str) -> tuple[str, str]:
    demo, admin = DEMO_LOGIN.search(output), ADMIN_LOGIN.search(output)
    assert demo and admin, output
    return demo.group(1), admin.group(1)


def password_works(username: str, password: str) -> bool:
    return get_user_model().objects.get(username=username).check_password(password)


# -- seed ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_loopback_demo_keeps_the_known_logins(settings: Any) -> None:
    settings.PULSEBOARD_KNOWN_DEMO_PASSWORDS = True
    output = seed("--new-passwords")
    assert printed_passwords(output) == ("demo", "admin")
    assert password_works("demo", "demo") and password_works("admin", "admin")
    admin = get_user_model().objects.get(username="admin")
    assert admin.is_staff and admin.is_superuser


@pytest.mark.parametrize(
    ("host", "demo"), [("0.0.0.0", True), ("192.168.1.20", True), ("127.0.0.1", False)]
)
def test_the_known_logins_need_the_demo_on_loopback(host: str, demo: bool) -> None:
    environment = {"HOST": host, "DEBUG": "1", "PULSEBOARD_DEMO": "1" if demo else "0"}
    assert settings_with(environment).PULSEBOARD_KNOWN_DEMO_PASSWORDS is False
    loopback_demo = settings_with({"HOST": "127.0.0.1", "PULSEBOARD_DEMO": "1"})
    assert loopback_demo.PULSEBOARD_KNOWN_DEMO_PASSWORDS and not loopback_demo.DEBUG


@pytest.mark.django_db
def test_off_loopback_the_demo_users_get_random_passwords_that_work(settings: Any) -> None:
    settings.PULSEBOARD_KNOWN_DEMO_PASSWORDS = False
    demo, admin = printed_passwords(seed())
    assert demo != "demo" and admin != "admin" and demo != admin
    assert len(demo) >= 12
    assert password_works("demo", demo) and password_works("admin", admin)
    assert not password_works("demo", "demo") and not password_works("admin", "admin")


@pytest.mark.django_db
def test_each_demo_start_prints_a_new_password(settings: Any) -> None:
    settings.PULSEBOARD_KNOWN_DEMO_PASSWORDS = False
    first, _ = printed_passwords(seed("--new-passwords"))
    second, _ = printed_passwords(seed("--new-passwords"))
    assert first != second
    assert password_works("demo", second) and not password_works("demo", first)


@pytest.mark.django_db
def test_a_plain_seed_keeps_a_password_it_cannot_know(settings: Any) -> None:
    """docker compose seeds at every start: an operator's own password must survive it."""
    settings.PULSEBOARD_KNOWN_DEMO_PASSWORDS = False
    seed()
    admin = get_user_model().objects.get(username="admin")
    admin.set_password("the-operators-own")
    admin.save()
    output = seed()
    assert "unchanged" in output
    assert password_works("admin", "the-operators-own")


@pytest.mark.django_db
def test_a_known_password_left_by_the_loopback_demo_is_replaced_off_loopback(
    settings: Any,
) -> None:
    settings.PULSEBOARD_KNOWN_DEMO_PASSWORDS = True
    seed()
    settings.PULSEBOARD_KNOWN_DEMO_PASSWORDS = False
    demo, admin = printed_passwords(seed())
    assert not password_works("demo", "demo") and not password_works("admin", "admin")
    assert password_works("demo", demo) and password_works("admin", admin)


@pytest.mark.django_db
def test_the_login_page_shows_no_credentials(settings: Any) -> None:
    settings.PULSEBOARD_KNOWN_DEMO_PASSWORDS = True
    seed()
    page = Client().get("/accounts/login/").content.decode()
    assert "Demo login" not in page
    assert "<kbd>" not in page
    assert "admin / admin" not in page


@pytest.mark.django_db
def test_seed_prints_the_urls_to_open(settings: Any) -> None:
    settings.HOST, settings.PORT = "0.0.0.0", 8123
    output = seed("--urls")
    urls = re.findall(r"^Open (\S+)$", output, re.MULTILINE)
    assert urls[0] == "http://127.0.0.1:8123/"
    assert all(url.startswith("http://") and url.endswith(":8123/") for url in urls)
    # The login is the last line, the URLs just before it (and the admin's login).
    assert DEMO_LOGIN.search(output.strip().splitlines()[-1])


# -- settings ------------------------------------------------------------------------


def settings_with(environment: dict[str, str]) -> ModuleType:
    """Return config/settings.py as read with `environment` (and nothing else that matters)."""
    spec = importlib.util.spec_from_file_location("config.settings_for_test", SETTINGS_FILE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    names = (
        "DEBUG",
        "HOST",
        "ALLOWED_HOSTS",
        "PULSEBOARD_DEMO",
        "BEHIND_HTTPS_PROXY",
        "SECURE_SSL_REDIRECT",
        "SESSION_COOKIE_SECURE",
        "CSRF_COOKIE_SECURE",
    )
    clean = {name: value for name, value in os.environ.items() if name not in names}
    with mock.patch.dict(os.environ, {**clean, **environment}, clear=True):
        spec.loader.exec_module(module)
    return module


def production_lines() -> dict[str, str]:
    """Return the variables of .env.example with its production lines switched on."""
    found: dict[str, str] = {}
    block: dict[str, str] | None = None  # the commented production lines, once reached
    for line in (ROOT / ".env.example").read_text().splitlines():
        active = re.fullmatch(r"([A-Z_]+)=(.*)", line)
        commented = re.fullmatch(r"# ([A-Z_]+)=(.*)", line)
        if active:
            found[active.group(1)] = active.group(2)
        elif line.startswith("# Production"):
            block = {}
        elif block is not None and commented:
            block[commented.group(1)] = commented.group(2)
        elif block:
            break  # the comment of the next block
    assert block, ".env.example has no production lines"
    return found | block


def check_deploy(environment: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env={**os.environ, **environment},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_check_deploy_is_clean_with_the_production_lines_of_env_example() -> None:
    lines = production_lines()
    assert lines["DEBUG"] == "0" and lines["BEHIND_HTTPS_PROXY"] == "1", lines
    assert "SECURE_SSL_REDIRECT" in lines and "SECURE_HSTS_SECONDS" in lines
    # The example's SECRET_KEY is a placeholder to replace, as its comment says.
    lines["SECRET_KEY"] = secrets.token_urlsafe(50)
    result = check_deploy({**lines, "HOST": "0.0.0.0"})
    assert result.returncode == 0, result.stderr + result.stdout
    assert "no issues" in result.stdout


def test_check_deploy_warns_about_the_placeholder_key_and_plain_http() -> None:
    placeholder = check_deploy({**production_lines(), "HOST": "0.0.0.0"})
    assert "security.W009" in placeholder.stderr
    plain_http = check_deploy(
        {"SECRET_KEY": secrets.token_urlsafe(50), "DEBUG": "0", "HOST": "0.0.0.0"}
    )
    assert "security.W008" in plain_http.stderr  # no redirect to HTTPS
    assert "security.W012" in plain_http.stderr  # session cookie not Secure


def test_the_network_demo_answers_any_host_over_plain_http() -> None:
    demo = settings_with({"HOST": "0.0.0.0", "PULSEBOARD_DEMO": "1"})
    assert demo.ALLOWED_HOSTS == ["*"]
    assert not demo.DEBUG
    assert not demo.SESSION_COOKIE_SECURE and not demo.CSRF_COOKIE_SECURE


def test_production_keeps_its_hosts_and_secure_cookies() -> None:
    production = settings_with(
        {
            "HOST": "0.0.0.0",
            "DEBUG": "0",
            "ALLOWED_HOSTS": "pulse.example.com",
            "BEHIND_HTTPS_PROXY": "1",
        }
    )
    assert production.ALLOWED_HOSTS == ["pulse.example.com"]
    assert production.SESSION_COOKIE_SECURE and production.CSRF_COOKIE_SECURE
    # Without PULSEBOARD_DEMO a server on every interface still answers only its names.
    served = settings_with({"HOST": "0.0.0.0"})
    assert "*" not in served.ALLOWED_HOSTS
    # Even the demo keeps hosts an operator names.
    named = settings_with({"HOST": "0.0.0.0", "PULSEBOARD_DEMO": "1", "ALLOWED_HOSTS": "a.lan"})
    assert named.ALLOWED_HOSTS == ["a.lan"]


# -- servers on every interface ------------------------------------------------------


class EveryInterfaceServer(WebServer):
    """`manage.py serve` bound to 0.0.0.0, as `HOST=0.0.0.0 make demo` runs it."""

    def command(self) -> list[str]:
        command = [PYTHON, "manage.py", "serve", "--host", "0.0.0.0", "--port", str(self.port)]
        return command if self.producer else [*command, "--no-producer"]


class Browser:
    """Cookies and CSRF as a browser keeps them, for one base URL."""

    def __init__(self, base_url: str):
        self.base_url = base_url
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    def cookie(self, name: str) -> http.cookiejar.Cookie | None:
        return next((cookie for cookie in self.jar if cookie.name == name), None)

    def open(self, path: str, form: dict[str, str] | None = None) -> tuple[int, str, str]:
        """Return the status, final URL and body of GET `path`, or POST `form` to it."""
        data = urllib.parse.urlencode(form).encode() if form is not None else None
        headers = {"Origin": self.base_url} if form is not None else {}
        request = urllib.request.Request(self.base_url + path, data=data, headers=headers)
        try:
            with self.opener.open(request, timeout=20) as response:
                return response.status, response.url, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.url, error.read().decode()

    def login(self, username: str, password: str) -> tuple[int, str, str]:
        self.open("/accounts/login/")
        csrf = self.cookie("csrftoken")
        assert csrf is not None, "the login page set no CSRF cookie"
        form = {"username": username, "password": password, "csrfmiddlewaretoken": csrf.value or ""}
        return self.open("/accounts/login/", form)


@pytest.fixture
def database(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'demo.sqlite3'}"


@pytest.fixture
def network_demo(tmp_path: Path, database: str) -> Iterator[tuple[WebServer, str]]:
    """`HOST=0.0.0.0 make demo` on a fresh database; yield it and the printed password."""
    env = server_env(database, HOST="0.0.0.0", PULSEBOARD_DEMO="1")
    env.pop("ALLOWED_HOSTS", None)
    env.pop("DEBUG", None)
    run_manage(env, "migrate", "--noinput", "-v", "0")
    output = run_manage(env, "seed", "--no-history", "--new-passwords", "--urls")
    password = DEMO_LOGIN.search(output)
    assert password is not None, output
    with EveryInterfaceServer(env, log_path=tmp_path / "demo.log", producer=False) as server:
        yield server, password.group(1)


def test_a_phone_logs_in_to_the_network_demo_over_plain_http(
    network_demo: tuple[WebServer, str],
) -> None:
    server, password = network_demo
    phone = Browser(f"http://{OTHER_ADDRESS}:{server.port}")
    status, url, body = phone.login("demo", "demo")
    assert status == 200 and "/accounts/login/" in url, "demo / demo must not work here"
    status, url, body = phone.login("demo", password)
    assert status == 200, body[-2000:]
    assert "/d/" in url, f"the login did not lead to a dashboard: {url}"
    session = phone.cookie("sessionid")
    assert session is not None and not session.secure
    assert phone.open("/api/stats")[0] == 200


@pytest.fixture
def production_server(tmp_path: Path, database: str) -> Iterator[WebServer]:
    env = server_env(database, HOST="0.0.0.0", DEBUG="0", ALLOWED_HOSTS="pulse.example.com")
    env.pop("PULSEBOARD_DEMO", None)
    run_manage(env, "migrate", "--noinput", "-v", "0")
    with EveryInterfaceServer(env, log_path=tmp_path / "production.log", producer=False) as server:
        yield server


def test_production_on_every_interface_refuses_hosts_it_was_not_given(
    production_server: WebServer,
) -> None:
    status, _, _ = Browser(f"http://{OTHER_ADDRESS}:{production_server.port}").open(
        "/accounts/login/"
    )
    assert status == 400
