"""Fixtures every test may use: named actors, streams, and a private redis-server."""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Iterator
from typing import Any
from unittest import mock

import pytest
from channels.layers import channel_layers
from django.conf import settings

from streams.models import ApiToken, SourceKind, Stream
from tests.processes import ROOT, RedisServer

SETTINGS_FILE = ROOT / "config" / "settings.py"

# Tests reach the database from several threads; a connection kept open there
# would outlive the test database and stop its teardown on PostgreSQL.
settings.DATABASES["default"]["CONN_MAX_AGE"] = 0


def channel_layers_for(redis_url: str) -> dict[str, Any]:
    """Return CHANNEL_LAYERS exactly as config/settings.py builds them for `redis_url`.

    The settings build the layer inline, so a private copy of them is read with
    REDIS_URL set; the settings Django already loaded stay as they are.
    """
    spec = importlib.util.spec_from_file_location("config.settings_for_redis", SETTINGS_FILE)
    assert spec is not None and spec.loader is not None
    copy = importlib.util.module_from_spec(spec)
    with mock.patch.dict(os.environ, {"REDIS_URL": redis_url}):
        spec.loader.exec_module(copy)
    return copy.CHANNEL_LAYERS


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    with RedisServer(tmp_path_factory.mktemp("redis")) as server:
        yield server


@pytest.fixture
def redis_layer(redis_server: RedisServer, settings: Any) -> Iterator[str]:
    """Switch the channel layer to Redis pub/sub, configured as in production, for one test."""
    settings.CHANNEL_LAYERS = channel_layers_for(redis_server.url)
    channel_layers.backends.clear()
    yield redis_server.url
    channel_layers.backends.clear()


@pytest.fixture(autouse=True)
def fresh_channel_layer() -> Iterator[None]:
    """Give every test an empty in-memory layer, so no frame leaks between tests."""
    channel_layers.backends.clear()
    yield
    channel_layers.backends.clear()


@pytest.fixture
def owner(django_user_model: Any) -> Any:
    return django_user_model.objects.create_user("alice", "alice@example.com", "alice-password")


@pytest.fixture
def outsider(django_user_model: Any) -> Any:
    return django_user_model.objects.create_user(
        "mallory", "mallory@example.com", "mallory-password"
    )


@pytest.fixture
def staff(django_user_model: Any) -> Any:
    return django_user_model.objects.create_user(
        "olivia", "olivia@example.com", "olivia-password", is_staff=True
    )


@pytest.fixture
def private_stream(owner: Any) -> Stream:
    return Stream.objects.create(
        slug="sensors.alice",
        title="Alice's sensor",
        source_kind=SourceKind.SENSOR,
        fields=[{"name": "temperature", "unit": "°C"}],
        owner=owner,
        running=False,
    )


@pytest.fixture
def push_stream(owner: Any) -> Stream:
    return Stream.objects.create(
        slug="push.alice",
        title="Alice's script",
        source_kind=SourceKind.PUSH,
        fields=[{"name": "value", "unit": ""}, {"name": "label", "unit": ""}],
        owner=owner,
        is_public=True,
    )


@pytest.fixture
def owner_token(owner: Any) -> str:
    return ApiToken.objects.issue(user=owner)[1]
