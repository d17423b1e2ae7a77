"""Fixtures every test may use: named actors, their streams, dashboard and rule, a private redis-server."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from channels.layers import channel_layers
from django.conf import settings

from alerts.models import AlertRule
from config.settings import channel_layers_for
from dashboards import services
from dashboards.models import Dashboard
from streams.models import SourceKind, Stream
from tests.processes import RedisServer
from tests.support.factories import make_rule, make_stream, make_token, make_user

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


@pytest.fixture(autouse=True)
def fast_password_hashing(settings: Any) -> None:
    """Hash the actors' passwords cheaply: the default hasher costs ~0.3 s a user."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def owner(db: None) -> Any:
    return make_user("alice")


@pytest.fixture
def outsider(db: None) -> Any:
    return make_user("mallory")


@pytest.fixture
def staff(db: None) -> Any:
    return make_user("olivia", is_staff=True)


@pytest.fixture
def shared_user(db: None) -> Any:
    """The user the owner's dashboard is shared with."""
    return make_user("bob")


@pytest.fixture
def private_stream(owner: Any) -> Stream:
    return make_stream(
        "sensors.alice",
        title="Alice's sensor",
        kind=SourceKind.SENSOR,
        fields=[{"name": "temperature", "unit": "°C"}],
        owner=owner,
        running=False,
    )


@pytest.fixture
def push_stream(owner: Any) -> Stream:
    return make_stream(
        "push.alice",
        title="Alice's script",
        fields=[{"name": "value", "unit": ""}, {"name": "label", "unit": "", "type": "text"}],
        owner=owner,
        is_public=True,
    )


@pytest.fixture
def owner_token(owner: Any) -> str:
    return make_token(owner)


@pytest.fixture
def dashboard(owner: Any, private_stream: Stream, shared_user: Any) -> Dashboard:
    """Alice's "Plant floor": a chart of her sensor, shared with bob, with a secret link."""
    board = services.dashboard_create(owner=owner, title="Plant floor")
    services.widget_save(
        dashboard=board,
        user=owner,
        kind="timeseries",
        stream=private_stream,
        title="Temperature",
        config={"fields": ["temperature"], "window_seconds": 60},
    )
    services.share_add(dashboard=board, user=shared_user)
    services.link_create(dashboard=board)
    return board


@pytest.fixture
def rule(owner: Any, private_stream: Stream) -> AlertRule:
    """Alice's "Too warm": her sensor's temperature above 30 for 5 s."""
    return make_rule(owner, private_stream)
