"""Fixtures of the streams tests: sockets for named actors, streams with history, producers."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.layers import channel_layers, get_channel_layer
from channels.testing import WebsocketCommunicator
from django.db import connections

from config.asgi import application
from streams.history.store import history_append
from streams.live.presence import announcer, presence
from streams.messages import sample_frame
from streams.models import SourceKind, Stream
from streams.producer.loop import Producer
from tests.streams.live_client import TIMEOUT, Live
from tests.support.factories import make_stream
from tests.support.producers import (
    LEASE_SECONDS,
    Clock,
    MakeProducer,
    StorageWitnessLayer,
    sine_stream,
)
from tests.support.samples import EPOCH_MS
from tests.support.sockets import Connect
from tests.support.web import HOST, ORIGIN, session_cookie


@pytest.fixture
def witness_layer(settings: Any) -> StorageWitnessLayer:
    """Switch the channel layer to a StorageWitnessLayer for one test."""
    settings.CHANNEL_LAYERS = {
        "default": {"BACKEND": "tests.support.producers.StorageWitnessLayer"}
    }
    channel_layers.backends.clear()
    layer = get_channel_layer()
    assert isinstance(layer, StorageWitnessLayer)
    return layer


@pytest.fixture
async def connect() -> AsyncIterator[Connect]:
    """Return a function that opens a socket; every socket is closed after the test."""
    presence.reset()
    announcer.reset()
    opened: list[Live] = []

    async def open_socket(
        user: Any = None,
        *,
        token: str | None = None,
        origin: tuple[bytes, bytes] | None = ORIGIN,
        path: str = "/ws/live/",
        hello: bool = True,
    ) -> Live:
        headers = [HOST, origin] if origin else [HOST]
        if user is not None:
            headers.append(await database_sync_to_async(session_cookie)(user))
        if token is not None:
            path = f"{path}?token={token}"
        live = Live(WebsocketCommunicator(application, path, headers=headers))
        opened.append(live)
        live.connected, live.close_code = await live.communicator.connect(timeout=TIMEOUT)
        if live.connected and hello and path.startswith("/ws/live/"):
            first = await live.receive()
            assert first["type"] == "hello", first
            live.hello = first
        return live

    yield open_socket
    for live in opened:
        with contextlib.suppress(Exception):
            await live.disconnect()
    # A socket a test left half-open must not count against the next test's limits.
    presence.reset()
    announcer.reset()


@pytest.fixture
def public_stream(owner: Any) -> Stream:
    """A sensor stream of alice's that every logged-in user may watch; stopped."""
    return make_stream(
        "sensors.lab-1",
        title="Lab 1",
        kind=SourceKind.SENSOR,
        fields=[{"name": "temperature", "unit": "°C"}],
        owner=owner,
        is_public=True,
        running=False,
    )


@pytest.fixture
def mallory_private(outsider: Any) -> Stream:
    """A sensor stream of mallory's that only mallory may read."""
    return make_stream(
        "sensors.mallory",
        title="Mallory's sensor",
        kind=SourceKind.SENSOR,
        fields=[],
        owner=outsider,
    )


@pytest.fixture
def public_sine(staff: Any) -> Stream:
    """A sine that belongs to nobody and everyone may read."""
    return make_stream(
        "sine.public",
        title="Everyone's sine",
        kind=SourceKind.SINE,
        is_public=True,
        fields=[{"name": "value", "unit": ""}],
    )


@pytest.fixture
def lab_stream(owner: Any) -> Stream:
    """Alice's private push stream with 1,200 stored samples, 100 ms apart from EPOCH_MS.

    Temperatures cycle through 21..26 and 20; sample 5 is flagged as an anomaly.
    """
    stream = make_stream(
        "lab.private",
        title="Lab",
        owner=owner,
        fields=[
            {"name": "temperature", "unit": "°C"},
            {"name": "label", "unit": "", "type": "text"},
        ],
    )
    frames = [
        sample_frame(
            i,
            EPOCH_MS + 100 * i,
            {"temperature": 20 + (i % 7), "label": f"n{i}"},
            ["anomaly"] if i == 5 else [],
        )
        for i in range(1, 1201)
    ]
    history_append({stream.pk: frames})
    return stream


@pytest.fixture
async def make_producer() -> AsyncIterator[MakeProducer]:
    """Return a function that builds producers; their database threads end with the test."""
    made: list[Producer] = []

    def make(holder: str = "worker-a", clock: Callable[[], int] | None = None) -> Producer:
        producer = Producer(
            holder=holder,
            clock=clock or Clock(),
            tick_seconds=0.02,
            reconcile_seconds=60,
            lease_seconds=LEASE_SECONDS,
        )
        reconcile = producer.reconcile

        async def reconcile_then_trim() -> None:
            # The tests' SQLite is one in-memory database in shared-cache mode, where a
            # table one connection writes is locked to the others at once (no busy
            # wait, unlike the WAL file the product runs on): a retention pass on its
            # own thread would make a tick's write fail at random. Here the pass a
            # reconcile starts ends before the test goes on.
            await reconcile()
            if producer.retention is not None:
                await asyncio.wait([producer.retention])

        producer.reconcile = reconcile_then_trim  # type: ignore[method-assign]
        made.append(producer)
        return producer

    yield make
    for producer in made:
        if producer.retention is not None:
            await asyncio.wait([producer.retention])
        for thread in producer.threads:
            with contextlib.suppress(RuntimeError):  # run() already shut its threads down
                await thread.run(connections.close_all)
        producer.shutdown()


@pytest.fixture
def sine(owner: Any) -> Stream:
    """A running sine of 100 samples a second: one every 10 ms."""
    return sine_stream("sine.fast")
