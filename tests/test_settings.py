"""Settings from the environment: loud failures, and a deployment Django finds safe."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

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


def manage(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**os.environ, **env},
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
