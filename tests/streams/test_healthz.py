"""GET /healthz: the database and the channel layer answer."""

from __future__ import annotations

from typing import Any

import pytest
from channels.layers import channel_layers
from django.test import Client

from config.settings import channel_layers_for
from tests.processes import LOOPBACK, free_port

pytestmark = pytest.mark.django_db


def test_healthz_reports_the_database_and_channel_layer() -> None:
    response = Client().get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "channel_layer": "ok"}


def test_healthz_reports_redis_through_the_channel_layer(redis_layer: str) -> None:
    response = Client().get("/healthz")
    assert response.status_code == 200
    assert response.json()["channel_layer"] == "ok"


def test_healthz_is_unhealthy_when_redis_is_unreachable(settings: Any) -> None:
    settings.CHANNEL_LAYERS = channel_layers_for(f"redis://{LOOPBACK}:{free_port()}/0")
    channel_layers.backends.clear()
    response = Client().get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unhealthy"
    assert body["database"] == "ok"
    assert body["channel_layer"] == "down"
    assert body["errors"] == {"channel_layer": "ConnectionError"}
