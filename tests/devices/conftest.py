"""Fixtures of the MQTT tests: a private mosquitto, a broker of Alice's routed to her push stream."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from devices.models import Broker, Route
from devices.supervisor import Supervisor
from streams.models import Stream
from tests.devices.mosquitto import Mosquitto


@pytest.fixture(autouse=True)
def fast_password_hashing(settings: Any) -> None:
    """Hash the actors' passwords cheaply: the default hasher costs ~0.3 s a user."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def mosquitto(tmp_path: Path) -> Iterator[Mosquitto]:
    with Mosquitto(tmp_path) as server:
        yield server


@pytest.fixture
def loopback_allowed(settings: Any) -> None:
    """Let brokers on this machine through the network rule, as an operator may."""
    settings.PULSEBOARD_WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.0/8"]


@pytest.fixture
def broker(owner: Any, mosquitto: Mosquitto, push_stream: Stream, loopback_allowed: None) -> Broker:
    broker = Broker.objects.create(owner=owner, name="Home", url=mosquitto.url)
    Route.objects.create(broker=broker, topic="home/+/value", stream=push_stream)
    return broker


@pytest.fixture
async def bridges() -> AsyncIterator[Callable[[], asyncio.Task[None]]]:
    """Start this process's bridges (a supervisor) on the test's loop; stopped after the test."""
    stops: list[tuple[asyncio.Event, asyncio.Task[None]]] = []

    def start() -> asyncio.Task[None]:
        stop = asyncio.Event()
        task = asyncio.ensure_future(Supervisor().run(stop))
        stops.append((stop, task))
        return task

    yield start
    for stop, task in stops:
        stop.set()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(task, timeout=10)
