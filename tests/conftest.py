"""Fixtures every test may use: named actors, streams, and a private redis-server."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from channels.layers import channel_layers
from django.conf import settings

from config.settings import channel_layers_for
from streams.models import ApiToken, SourceKind, Stream
from tests.processes import RedisServer

# Tests reach the database from several threads; a connection kept open there
# would outlive the test database and stop its teardown on PostgreSQL.
settings.DATABASES["default"]["CONN_MAX_AGE"] = 0
# Tests run producers of their own where they need one, never one the application starts.
settings.PULSEBOARD_EMBEDDED_PRODUCER = False
# Alert notices are sent by the tests that send them (or the `background_sender`
# fixture): a sender thread left running would reach the database between tests.
settings.PULSEBOARD_ALERT_SENDER = False


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
        fields=[{"name": "value", "unit": ""}, {"name": "label", "unit": "", "type": "text"}],
        owner=owner,
        is_public=True,
    )


@pytest.fixture
def owner_token(owner: Any) -> str:
    return ApiToken.objects.issue(user=owner)[1]
