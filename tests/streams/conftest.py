"""Helpers for the streams tests: live sockets for named actors, stored samples, frames, producers."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import orjson
import pytest
from channels.db import database_sync_to_async
from channels.layers import InMemoryChannelLayer, channel_layers, get_channel_layer
from channels.testing import WebsocketCommunicator
from django.db import connections
from django.test import Client

from config.asgi import application
from streams.history.store import history_append
from streams.live.presence import announcer, presence
from streams.messages import SampleFrame, sample_frame
from streams.models import Sample, SourceKind, Stream, StreamLease
from streams.producer.loop import Producer
from streams.publishing import send_stream_frame
from streams.sources.sine import SineSource
from tests.streams.live_client import TIMEOUT, Live

ORIGIN = (b"origin", b"http://127.0.0.1")
# Every browser and WebSocket client sends Host; the page's origin is checked against it.
HOST = (b"host", b"127.0.0.1")
# Every sample the tests store is one second after the one before, from here.
EPOCH_MS = 1_700_000_000_000


@pytest.fixture(autouse=True)
def fast_password_hashing(settings: Any) -> None:
    """Hash the actors' passwords cheaply: the default hasher costs ~0.3 s a user."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def session_cookie(user: Any) -> tuple[bytes, bytes]:
    """Return the Cookie header of a browser that `user` logged in with."""
    client = Client()
    client.force_login(user)
    return (b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode())


def samples_make(seqs: range | list[int]) -> list[SampleFrame]:
    """Return samples with the given seqs, as the producer stamps them."""
    return [
        sample_frame(seq, EPOCH_MS + 1000 * seq, {"temperature": 20 + seq / 100}) for seq in seqs
    ]


def samples_store(stream: Stream, seqs: range | list[int]) -> list[SampleFrame]:
    """Store samples with the given seqs in the stream's history and return them."""
    samples = samples_make(seqs)
    history_append({stream.pk: samples})
    return samples


async def frame_publish(slug: str, samples: list[SampleFrame]) -> None:
    """Publish a batch to the stream's watchers the way the producer does."""
    await send_stream_frame(slug=slug, batch=samples)


class StorageWitnessLayer(InMemoryChannelLayer):
    """The in-memory layer, noting for every data frame how much of it was stored when sent."""

    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)
        self.published: list[tuple[int, int, int]] = []  # first, last, how many were stored

    async def group_send(self, group: str, message: dict[str, Any]) -> None:
        if message.get("type") == "stream.frame":
            stored = await database_sync_to_async(
                Sample.objects.filter(
                    stream__slug=message["stream"],
                    seq__gte=message["first"],
                    seq__lte=message["last"],
                ).count
            )()
            self.published.append((message["first"], message["last"], stored))
        await super().group_send(group, message)


@pytest.fixture
def witness_layer(settings: Any) -> StorageWitnessLayer:
    """Switch the channel layer to a StorageWitnessLayer for one test."""
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "tests.streams.conftest.StorageWitnessLayer"}}
    channel_layers.backends.clear()
    layer = get_channel_layer()
    assert isinstance(layer, StorageWitnessLayer)
    return layer


def seqs_of(frames: list[dict[str, Any]]) -> list[int]:
    """Return the seqs of every sample in the `data` frames among `frames`, in order."""
    return [s["seq"] for f in frames if f["type"] == "data" for s in f["samples"]]


Connect = Callable[..., Awaitable[Live]]


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


store = database_sync_to_async(samples_store)


@database_sync_to_async
def running_in_database(stream: Stream) -> bool:
    return Stream.objects.get(pk=stream.pk).running


@database_sync_to_async
def stored_seqs(stream: Stream) -> list[int]:
    return list(Sample.objects.filter(stream=stream).order_by("seq").values_list("seq", flat=True))


@pytest.fixture
def public_stream(owner: Any) -> Stream:
    """A sensor stream of alice's that every logged-in user may watch; stopped."""
    return Stream.objects.create(
        slug="sensors.lab-1",
        title="Lab 1",
        source_kind=SourceKind.SENSOR,
        fields=[{"name": "temperature", "unit": "°C"}],
        owner=owner,
        is_public=True,
        running=False,
    )


async def subscribe(live: Live, stream: str, **options: Any) -> list[dict[str, Any]]:
    """Subscribe; return what came up to the presence news that ends a subscription."""
    await live.send({"type": "subscribe", "stream": stream, **options})
    return await live.receive_until("presence")


async def next_data(live: Live) -> dict[str, Any]:
    """Return the next `data` frame, passing over presence news."""
    return (await live.receive_until("data"))[-1]


async def error_for(live: Live, message: dict[str, Any]) -> dict[str, Any]:
    return await live.command(message, "error")


# -- HTTP -------------------------------------------------------------------------

INGEST = "/api/streams/push.alice/samples"


def logged_in(user: Any) -> Client:
    """Return a browser that `user` logged in with."""
    client = Client()
    client.force_login(user)
    return client


def token_client(token: str) -> Client:
    """Return a script that sends `Authorization: Token <token>`."""
    return Client(HTTP_AUTHORIZATION=f"Token {token}")


def post_json(client: Client, url: str, body: Any) -> Any:
    """POST `body` as JSON (bytes as they are); return the response."""
    raw = body if isinstance(body, bytes) else orjson.dumps(body)
    return client.post(url, data=raw, content_type="application/json")


def stored_samples(stream: Stream) -> list[tuple[int, int, dict[str, Any], list[str]]]:
    """Return the stream's stored (seq, t, values, flags), oldest first."""
    return list(
        Sample.objects.filter(stream=stream)
        .order_by("seq")
        .values_list("seq", "t", "values", "flags")
    )


@pytest.fixture
def mallory_private(outsider: Any) -> Stream:
    """A sensor stream of mallory's that only mallory may read."""
    return Stream.objects.create(
        slug="sensors.mallory",
        title="Mallory's sensor",
        source_kind=SourceKind.SENSOR,
        owner=outsider,
    )


@pytest.fixture
def public_sine(staff: Any) -> Stream:
    """A sine that belongs to nobody and everyone may read."""
    return Stream.objects.create(
        slug="sine.public",
        title="Everyone's sine",
        source_kind=SourceKind.SINE,
        is_public=True,
        fields=[{"name": "value", "unit": ""}],
    )


@pytest.fixture
def lab_stream(owner: Any) -> Stream:
    """Alice's private push stream with 1,200 stored samples, 100 ms apart from EPOCH_MS.

    Temperatures cycle through 21..26 and 20; sample 5 is flagged as an anomaly.
    """
    stream = Stream.objects.create(
        slug="lab.private",
        title="Lab",
        source_kind=SourceKind.PUSH,
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


# -- producers ---------------------------------------------------------------

LEASE_SECONDS = 10


class Clock:
    """A clock the test moves by hand, in UTC milliseconds."""

    def __init__(self, now: int = EPOCH_MS + 1_000_000):
        self.now = now

    def __call__(self) -> int:
        return self.now

    def advance(self, ms: int) -> None:
        self.now += ms


MakeProducer = Callable[..., Producer]


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
        made.append(producer)
        return producer

    yield make
    for producer in made:
        with contextlib.suppress(RuntimeError):  # run() already shut its thread down
            await producer.in_thread(connections.close_all)
        producer.executor.shutdown(wait=True)


def sine_stream(slug: str, *, running: bool = True, **source_settings: Any) -> Stream:
    return Stream.objects.create(
        slug=slug,
        title=slug,
        source_kind=SourceKind.SINE,
        source_settings={"rate": 100, **source_settings},
        fields=SineSource.fields,
        running=running,
        is_public=True,
    )


@pytest.fixture
def sine(owner: Any) -> Stream:
    """A running sine of 100 samples a second: one every 10 ms."""
    return sine_stream("sine.fast")


@database_sync_to_async
def stored(stream: Stream) -> list[tuple[int, int]]:
    """Return the stream's stored (seq, t), oldest first."""
    return list(Sample.objects.filter(stream=stream).order_by("seq").values_list("seq", "t"))


@database_sync_to_async
def stored_values(stream: Stream, field: str = "value") -> list[float]:
    return [
        values[field]
        for values in Sample.objects.filter(stream=stream)
        .order_by("seq")
        .values_list("values", flat=True)
    ]


@database_sync_to_async
def lease_of(stream: Stream) -> tuple[str, int]:
    lease = StreamLease.objects.get(stream=stream)
    return lease.holder, lease.expires_ms


def assert_contiguous(rows: list[tuple[int, int]], first: int = 1) -> None:
    seqs = [seq for seq, _ in rows]
    assert seqs == list(range(first, first + len(rows)))
    times = [t for _, t in rows]
    assert times == sorted(times)
