"""Settings from the environment: loud failures, and a deployment Django finds safe."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from config.env import is_loopback

ROOT = Path(__file__).resolve().parents[1]

PRODUCTION = {
    "SECRET_KEY": "a-production-key-" + "x" * 60,
    "DEBUG": "0",
    "ALLOWED_HOSTS": "pulse.example.com",
    "HOST": "0.0.0.0",
    "SECURE_SSL_REDIRECT": "1",
    "SECURE_HSTS_SECONDS": "31536000",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS": "1",
    "SECURE_HSTS_PRELOAD": "1",
    "BEHIND_HTTPS_PROXY": "1",
}


# Variables of this process that would otherwise decide what the settings read.
DECIDING = ("DEBUG", "HOST", "ALLOWED_HOSTS", "PULSEBOARD_DEMO")


def manage(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    inherited = {name: value for name, value in os.environ.items() if name not in DECIDING}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**inherited, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_check_deploy_is_clean_under_production_settings() -> None:
    result = manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION)
    assert result.returncode == 0, result.stderr + result.stdout


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DEBUG", "maybe"),
        ("PORT", "eighty"),
        ("PULSEBOARD_MAX_SUBSCRIPTIONS", "-3"),
        ("DATABASE_URL", "nosuch://x"),
    ],
)
def test_a_bad_setting_stops_the_process_naming_the_variable(name: str, value: str) -> None:
    result = manage("check", **{name: value})
    assert result.returncode != 0
    assert name in result.stderr


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.0.0.2", True),
        ("::1", True),
        ("[::1]", True),
        ("localhost", True),
        ("LocalHost", True),
        ("0.0.0.0", False),
        ("::", False),
        ("10.0.0.1", False),
        ("", False),
    ],
)
def test_loopback_is_decided_on_addresses_not_on_text(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


# Names answered in-process: the tests send no query to a resolver off this machine.
NAMES = {
    "127.example.test": ["192.0.2.7"],
    "lab.example.test": ["127.0.0.1", "::1"],
    "mixed.example.test": ["127.0.0.1", "192.0.2.8"],
}


def answer_from_names(name: str, *args: Any, **kwargs: Any) -> list[tuple[Any, ...]]:
    if name not in NAMES:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
    return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, 0)) for address in NAMES[name]]


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        # Looked up: not loopback because it starts with 127., but by its addresses.
        ("127.example.test", False),
        ("lab.example.test", True),
        ("mixed.example.test", False),
        ("nowhere.example.test", False),
    ],
)
def test_a_name_is_loopback_only_when_all_its_addresses_are(
    host: str, loopback: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(socket, "getaddrinfo", answer_from_names)
    assert is_loopback(host) is loopback


def settings_read(**env: str) -> dict[str, Any]:
    """Return DEBUG, the known demo passwords and ALLOWED_HOSTS as `manage.py` reads them."""
    shown = ["DEBUG", "PULSEBOARD_KNOWN_DEMO_PASSWORDS", "ALLOWED_HOSTS"]
    code = (
        "import json; from django.conf import settings; "
        f"print(json.dumps({{name: getattr(settings, name) for name in {shown!r}}}))"
    )
    result = manage("shell", "-c", code, **env)
    assert result.returncode == 0, result.stderr
    seen: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return seen


def test_the_loopback_demo_keeps_the_known_passwords_without_debug() -> None:
    demo = settings_read(PULSEBOARD_DEMO="1", HOST="127.0.0.1")
    assert demo["DEBUG"] is False
    assert demo["PULSEBOARD_KNOWN_DEMO_PASSWORDS"] is True
    assert {"127.0.0.1", "localhost", "[::1]"} <= set(demo["ALLOWED_HOSTS"])
    # A developer still gets Django's technical pages by asking for them.
    assert settings_read(PULSEBOARD_DEMO="1", DEBUG="1")["DEBUG"] is True
    # Without the demo, no known passwords, even on loopback with DEBUG.
    assert settings_read(HOST="127.0.0.1", DEBUG="1")["PULSEBOARD_KNOWN_DEMO_PASSWORDS"] is False


@pytest.mark.parametrize("host", ["0.0.0.0", "10.0.0.1", "::"])
def test_a_demo_bound_off_loopback_has_no_known_passwords_and_no_debug(host: str) -> None:
    demo = settings_read(PULSEBOARD_DEMO="1", HOST=host)
    assert demo["DEBUG"] is False
    assert demo["PULSEBOARD_KNOWN_DEMO_PASSWORDS"] is False
