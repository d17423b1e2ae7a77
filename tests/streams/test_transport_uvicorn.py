"""Direct writes on the pinned uvicorn, served for real in this process.

The adapter (streams/fanout/transport_uvicorn.py) reads members of uvicorn's
WebSocket protocol that uvicorn does not document. These tests run a real
uvicorn server on a free loopback port: the members must be there (else the
test names what is missing), live frames must take the direct path, and with
the path turned off or a member missing every frame still arrives, in order,
through ASGI `send`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from importlib.metadata import version
from typing import Any

import pytest
import uvicorn
from channels.db import database_sync_to_async
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.asyncio.client import ClientConnection, connect

from config.asgi import application
from streams.fanout import transport_uvicorn
from streams.fanout.transport_uvicorn import contract, contract_missing, socket_writer
from streams.live.presence import announcer, presence
from streams.metrics import metric_value
from streams.models import ApiToken, Stream
from tests.processes import LOOPBACK, free_port
from tests.support.samples import samples_make, store
from tests.support.sockets import frame_publish

pytestmark = pytest.mark.django_db(transaction=True)

App = Callable[[Any, Any, Any], Awaitable[None]]
STREAM = "sensors.alice"


@contextlib.asynccontextmanager
async def served(app: App) -> AsyncIterator[str]:
    """Serve `app` with uvicorn as `manage.py serve` configures it; yield its ws:// address."""
    port = free_port()
    config = uvicorn.Config(
        app,
        host=LOOPBACK,
        port=port,
        ws="websockets-sansio",
        lifespan="off",
        ws_per_message_deflate=False,
        log_config=None,
        log_level="warning",
    )
    server = uvicorn.Server(config)
    serving = asyncio.ensure_future(server.serve())
    try:
        while not server.started:
            assert not serving.done(), "uvicorn did not start"
            await asyncio.sleep(0.02)
        yield f"ws://{LOOPBACK}:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(serving, 15)


@pytest.fixture(autouse=True)
def fresh_process() -> Any:
    """Each test's first socket checks uvicorn again, and counts no socket of another test."""
    contract.reset()
    presence.reset()
    announcer.reset()
    yield
    contract.reset()
    presence.reset()
    announcer.reset()


async def test_the_pinned_uvicorn_has_every_member_direct_writes_read() -> None:
    found: dict[str, Any] = {}

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await receive()
        await send({"type": "websocket.accept"})
        protocol = getattr(send, "__self__", None)
        found["class"] = transport_uvicorn.protocol_class()
        found["protocol"] = type(protocol)
        found["missing"] = contract_missing(protocol)
        await send({"type": "websocket.close"})

    async with served(app) as url, connect(url) as client:
        await client.wait_closed()
    where = f"uvicorn {version('uvicorn')}"
    assert found["class"] is not None, (
        f"{where} has no {transport_uvicorn.PROTOCOL_MODULE}.{transport_uvicorn.PROTOCOL_CLASS}"
    )
    assert found["protocol"] is found["class"], f"{where} sends through {found['protocol']}"
    assert found["missing"] == [], (
        f"{where} lacks {', '.join(found['missing'])}: follow it in "
        "streams/fanout/transport_uvicorn.py (until then sockets write through ASGI send)"
    )


async def test_frames_written_directly_arrive_whole_and_in_order_between_asgi_sends() -> None:
    writers: list[str] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await receive()
        await send({"type": "websocket.accept"})
        writer = socket_writer(send)
        writers.append(type(writer).__name__)
        for n in range(300):
            text = json.dumps({"n": n, "pad": "x" * (n * 7)})
            if n % 50 == 49:
                await writer.send_text(text)  # after what the writer holds
            elif not writer.write_shared(text):
                await writer.send_shared(text)
            if n % 20 == 0:
                await asyncio.sleep(0)  # a new moment: its first frame leaves at once
        await writer.send({"type": "websocket.close"})

    async with served(app) as url, connect(url, max_size=None) as client:
        numbers = [json.loads(text)["n"] async for text in client]
    assert writers == ["UvicornWriter"]
    assert numbers == list(range(300))


class AsgiSends:
    """Counts the `data` frames uvicorn's protocol is asked to send the ASGI way."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch):
        self.data = 0
        original = WebSocketsSansIOProtocol.send

        async def counted(protocol: WebSocketsSansIOProtocol, message: Any) -> None:
            if message["type"] == "websocket.send" and '"type":"data"' in message.get("text", ""):
                self.data += 1
            await original(protocol, message)

        monkeypatch.setattr(WebSocketsSansIOProtocol, "send", counted)


@pytest.fixture
def asgi_sends(monkeypatch: pytest.MonkeyPatch) -> AsgiSends:
    return AsgiSends(monkeypatch)


async def watch(url: str, token: str) -> ClientConnection:
    client = await connect(f"{url}/ws/live/?token={token}", max_size=None)
    assert json.loads(await client.recv())["type"] == "hello"
    await client.send(json.dumps({"type": "subscribe", "stream": STREAM}))
    while json.loads(await asyncio.wait_for(client.recv(), 5))["type"] != "presence":
        pass  # subscribed, then the presence news that ends a subscribe
    return client


async def seqs_until(client: ClientConnection, last: int) -> tuple[list[int], int]:
    """Return the seqs of the data frames up to `last`, and how many frames carried them."""
    seqs: list[int] = []
    frames = 0
    while not seqs or seqs[-1] < last:
        message = json.loads(await asyncio.wait_for(client.recv(), 5))
        if message["type"] == "data":
            frames += 1
            seqs += [sample["seq"] for sample in message["samples"]]
    return seqs, frames


async def live_frames_to_three_sockets(private_stream: Stream, owner: Any) -> int:
    """Publish 150 frames to three sockets served by uvicorn; return the data frames received.

    Each socket must see seqs 1..300 once, in order.
    """
    token = await database_sync_to_async(lambda: ApiToken.objects.issue(user=owner)[1])()
    async with served(application) as url:
        clients = [await watch(url, token) for _ in range(3)]
        await store(private_stream, range(1, 301))
        for first in range(1, 301, 2):
            await frame_publish(STREAM, samples_make([first, first + 1]))
            await asyncio.sleep(0.002)
        received = 0
        for client in clients:
            seqs, frames = await seqs_until(client, 300)
            assert seqs == list(range(1, 301))
            received += frames
            await client.close()
    return received


async def test_live_frames_take_the_direct_path_on_uvicorn(
    owner: Any, private_stream: Stream, asgi_sends: AsgiSends
) -> None:
    received = await live_frames_to_three_sockets(private_stream, owner)
    # Following on, frames skip uvicorn's `send`: if they all went through it,
    # the direct path is off (see the contract test above).
    assert asgi_sends.data < received / 2, (asgi_sends.data, received)


async def test_with_direct_writes_off_every_frame_arrives_through_asgi_send(
    owner: Any, private_stream: Stream, asgi_sends: AsgiSends, settings: Any
) -> None:
    settings.PULSEBOARD_DIRECT_WRITES = False
    received = await live_frames_to_three_sockets(private_stream, owner)
    assert asgi_sends.data == received


async def test_a_member_missing_from_uvicorn_is_named_once_and_every_frame_arrives(
    owner: Any,
    private_stream: Stream,
    asgi_sends: AsgiSends,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # As if the adapter read a member this uvicorn does not have (0.35 had no `disconnected`).
    members = (*transport_uvicorn.PROTOCOL_MEMBERS, "write_paused")
    monkeypatch.setattr(transport_uvicorn, "PROTOCOL_MEMBERS", members)
    with caplog.at_level(logging.WARNING, logger=transport_uvicorn.__name__):
        received = await live_frames_to_three_sockets(private_stream, owner)
    assert asgi_sends.data == received
    warnings = [r.getMessage() for r in caplog.records if r.name == transport_uvicorn.__name__]
    assert len(warnings) == 1, warnings  # once for the process, not once a socket
    assert "WebSocketsSansIOProtocol.write_paused" in warnings[0]


async def test_on_the_direct_path_holes_are_filled_news_arrives_and_each_frame_counts_once(
    owner: Any, private_stream: Stream
) -> None:
    sent, skipped = "pulseboard_frames_sent_total", "pulseboard_frames_skipped_total"
    token = await database_sync_to_async(lambda: ApiToken.objects.issue(user=owner)[1])()
    async with served(application) as url:
        alice, watcher = await watch(url, token), await watch(url, token)
        await store(private_stream, range(1, 17))
        before = metric_value(sent), metric_value(skipped)
        for first in range(1, 11, 2):
            await frame_publish(STREAM, samples_make([first, first + 1]))
            await asyncio.sleep(0.002)
        for client in (alice, watcher):
            assert (await seqs_until(client, 10))[0] == list(range(1, 11))
        # The frames of 11..14 were lost on the way: the next one follows a hole.
        await frame_publish(STREAM, samples_make([15, 16]))
        for client in (alice, watcher):
            assert (await seqs_until(client, 16))[0] == list(range(11, 17))
        # Five frames that followed on and one after its hole, to each of two sockets.
        assert (metric_value(sent) - before[0], metric_value(skipped) - before[1]) == (12, 0)
        # News other than frames reaches an idle socket too.
        await alice.send(json.dumps({"type": "stop", "stream": STREAM}))
        while (news := json.loads(await asyncio.wait_for(watcher.recv(), 5)))["type"] != "status":
            pass
        assert (news["stream"], news["running"]) == (STREAM, False)
        await alice.close()
        await watcher.close()
