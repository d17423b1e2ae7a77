"""One broker's bridge: subscribe with QoS 1 in a persistent session, store, then acknowledge.

paho-mqtt runs on the producer's event loop through its documented hooks for an
outside loop (socket open/close, register/unregister write): reads append what
arrives to an inbox, acknowledgements leave in the writes that follow, with no
thread of its own to wake per packet. The bridge's task takes the inbox in
batches, stores them through the one pipeline (`streams.producer.pipeline`) in
a database thread of its own, and acknowledges each message only after its
samples are stored. While the bridge is away the broker keeps the session (a
fixed client id, MQTT 5 with a session expiry) and what arrives for it; what was
stored but not acknowledged comes again with DUP set and is dropped by its mark.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlsplit

import paho.mqtt.client as mqtt
from django.db import close_old_connections, connection
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from devices.routes import RouteTable, route_table
from devices.store import Marks, Message, marks_read, messages_store
from streams.netguard import address_allowed
from streams.producer.pipeline import pipeline_run

log = logging.getLogger(__name__)
T = TypeVar("T")

DEFAULT_PORT = 1883
# The broker keeps the session (subscriptions, queued messages) this long while we are away.
SESSION_EXPIRY_SECONDS = 7 * 86_400
# Messages in flight to us at once (MQTT 5 Receive Maximum): one batch's worth.
RECEIVE_MAXIMUM = 1_000
MAX_BATCH = 1_000
KEEPALIVE_SECONDS = 30
# After a failed write the batch is tried again (unacknowledged, so nothing is lost).
RETRY_SECONDS = 1.0
# Batches whose marks are kept with the next one's.
KEPT_BATCHES = 2
# Packets read per readiness of the socket; pings and reconnects are tended this often.
MAX_READS = 1_000
TEND_SECONDS = 1.0
MAX_BACKOFF_SECONDS = 30.0
CONNECT_TIMEOUT_SECONDS = 10.0


class BrokerAddressError(ValueError):
    """A broker URL that is not mqtt://host[:port]."""


def broker_address(url: str) -> tuple[str, int]:
    """Return (host, port) of an mqtt:// URL; raise BrokerAddressError saying what is wrong."""
    parts = urlsplit(url.strip())
    if parts.scheme != "mqtt":
        raise BrokerAddressError("Use an mqtt://host:port address (TLS is not supported yet).")
    try:
        port = parts.port or DEFAULT_PORT
    except ValueError:
        raise BrokerAddressError("The port must be a number from 1 to 65535.") from None
    if not parts.hostname:
        raise BrokerAddressError("The address names no host.")
    if parts.path not in ("", "/") or parts.query or parts.username or parts.password:
        raise BrokerAddressError(
            "Give the host and port only; the user name and password have fields of their own."
        )
    return parts.hostname, port


@dataclass(frozen=True)
class BrokerConfig:
    """What a bridge needs of its broker, read once; a change starts a new bridge."""

    broker_id: int
    owner_id: int
    url: str
    username: str
    password: str
    payload_format: str
    ha_discovery: bool
    ha_prefix: str
    client_id: str

    @property
    def discovery_filter(self) -> str:
        return f"{self.ha_prefix}/sensor/#"

    def is_discovery(self, topic: str) -> bool:
        return self.ha_discovery and topic.startswith(self.ha_prefix + "/sensor/")


Discover = Callable[[BrokerConfig, Message], str]


class Bridge:
    """The bridge of one broker; `run` until `stop` is set or the broker is refused."""

    def __init__(self, config: BrokerConfig, table: RouteTable, discover: Discover):
        self.config = config
        self.table = table
        self.discover = discover
        self.status = "starting"
        self.inbox: deque[Message] = deque()
        self.wake = asyncio.Event()
        self.loop = asyncio.get_running_loop()
        self.loop_thread = threading.get_ident()
        self.connecting: asyncio.Future[Any] | None = None
        # When the last TCP connection was made and no CONNACK has come yet.
        self.awaiting_since: float | None = None
        self.next_attempt = 0.0
        self.backoff = 0.0
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mqtt-db")
        # The marks of the last batches, kept with the next ones: their acknowledgements
        # may still be on their way when the process dies. Seeded from the database.
        self.recent_marks: deque[Marks] = deque(maxlen=KEPT_BATCHES)
        self.subscribed: set[str] = set()
        self.client = self.client_make()

    def client_make(self) -> mqtt.Client:
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=self.config.client_id,
            protocol=mqtt.MQTTv5,
            manual_ack=True,
        )
        if self.config.username:
            client.username_pw_set(self.config.username, self.config.password or None)
        client.on_connect = self.on_connect
        client.on_disconnect = self.on_disconnect
        client.on_message = self.on_message
        client.on_socket_open = self.on_socket_open
        client.on_socket_close = self.on_socket_close
        client.on_socket_register_write = self.on_socket_register_write
        client.on_socket_unregister_write = self.on_socket_unregister_write
        return client

    # -- paho on the event loop ------------------------------------------------

    def on_loop(self, function: Callable[..., Any], *args: Any) -> None:
        """Call `function` on the event loop (paho's connect runs in a thread)."""
        if threading.get_ident() == self.loop_thread:
            function(*args)
        else:
            self.loop.call_soon_threadsafe(function, *args)

    def on_socket_open(self, _client: Any, _data: Any, sock: Any) -> None:
        self.on_loop(self.loop.add_reader, sock, self.readable)

    def on_socket_close(self, _client: Any, _data: Any, sock: Any) -> None:
        self.on_loop(self.loop.remove_reader, sock)
        self.on_loop(self.loop.remove_writer, sock)

    def on_socket_register_write(self, _client: Any, _data: Any, sock: Any) -> None:
        self.on_loop(self.loop.add_writer, sock, self.client.loop_write)

    def on_socket_unregister_write(self, _client: Any, _data: Any, sock: Any) -> None:
        self.on_loop(self.loop.remove_writer, sock)

    def readable(self) -> None:
        """Read every packet that has arrived (paho reads about one per call)."""
        for _ in range(MAX_READS):
            if self.client.loop_read() != mqtt.MQTT_ERR_SUCCESS:
                break

    def on_connect(
        self, client: mqtt.Client, _data: Any, _flags: Any, reason: Any, _p: Any
    ) -> None:
        if reason.is_failure:
            self.status = f"refused by the broker: {reason}"
            return
        self.status = "connected"
        self.backoff = 0.0
        self.awaiting_since = None
        self.subscribed = set()
        self.subscribe_all()

    def on_disconnect(self, _client: Any, _data: Any, _flags: Any, reason: Any, _p: Any) -> None:
        self.awaiting_since = None
        self.status = f"disconnected ({reason}); reconnecting"

    def on_message(self, _client: Any, _data: Any, message: mqtt.MQTTMessage) -> None:
        self.inbox.append(
            Message(
                message.topic, bytes(message.payload), message.mid, bool(message.dup), message.qos
            )
        )
        self.wake.set()

    def connection_tend(self) -> None:
        """Keep the session alive (pings), and reconnect with a growing pause when it is lost."""
        if self.client.is_connected():
            self.client.loop_misc()
            return
        if self.connecting is not None and not self.connecting.done():
            return
        now = self.loop.time()
        if self.awaiting_since is not None and now - self.awaiting_since < CONNECT_TIMEOUT_SECONDS:
            return  # connected over TCP; the broker's answer is on its way
        if now < self.next_attempt:
            return
        self.backoff = min(MAX_BACKOFF_SECONDS, max(1.0, self.backoff * 2))
        self.next_attempt = now + self.backoff
        # The TCP connect blocks: it runs in a thread, and its socket joins the loop.
        self.connecting = self.loop.run_in_executor(None, self.connect_once)

    def connect_once(self) -> None:
        self.awaiting_since = None
        try:
            self.client.reconnect()
        except OSError as error:
            self.status = f"cannot connect: {error}"[:200]
            return
        self.awaiting_since = self.loop.time()

    # -- the bridge's task -----------------------------------------------------

    def filters(self) -> set[str]:
        wanted = set(self.table.filters)
        if self.config.ha_discovery:
            wanted.add(self.config.discovery_filter)
        return wanted

    def subscribe_all(self) -> None:
        """Subscribe (QoS 1) to every filter not subscribed yet; drop the ones no route has."""
        wanted = self.filters()
        new = sorted(wanted - self.subscribed)
        gone = sorted(self.subscribed - wanted)
        if new:
            self.client.subscribe([(topic, 1) for topic in new])
        if gone:
            self.client.unsubscribe(gone)
        self.subscribed = wanted

    def routes_set(self, table: RouteTable) -> None:
        """Use new routes from the next batch on; subscribe to their filters."""
        self.table = table
        if self.client.is_connected():
            self.subscribe_all()

    async def in_thread(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        def call() -> T:
            close_old_connections()
            return function(*args, **kwargs)

        return await self.loop.run_in_executor(self.executor, call)

    async def run(self, stop: asyncio.Event) -> None:
        host, port = broker_address(self.config.url)
        verdict = await self.loop.run_in_executor(self.executor, address_allowed, host, port)
        if not verdict.allowed:
            self.status = f"not connected: the address is refused ({verdict.code})"
            return
        properties = Properties(PacketTypes.CONNECT)
        properties.SessionExpiryInterval = SESSION_EXPIRY_SECONDS
        properties.ReceiveMaximum = RECEIVE_MAXIMUM
        # Connect to the address that was checked, never to a second lookup of the name.
        ip = str(verdict.addresses[0][1][0])
        self.status = "connecting"
        self.client.connect_async(
            ip, port, keepalive=KEEPALIVE_SECONDS, clean_start=False, properties=properties
        )
        self.recent_marks.append(await self.in_thread(marks_read, self.config.broker_id))
        self.connection_tend()
        try:
            await self.drain(stop)
        finally:
            if self.connecting is not None:
                await asyncio.wait([self.connecting], timeout=KEEPALIVE_SECONDS)
            self.client.disconnect()
            self.client.loop_write()
            # The database thread's connection goes with it, not when it is collected.
            await self.loop.run_in_executor(self.executor, connection.close)
            self.executor.shutdown(wait=False)

    async def drain(self, stop: asyncio.Event) -> None:
        stopping = asyncio.ensure_future(stop.wait())
        try:
            while not stop.is_set():
                if not self.inbox:
                    waking = asyncio.ensure_future(self.wake.wait())
                    await asyncio.wait(
                        [waking, stopping], timeout=TEND_SECONDS, return_when="FIRST_COMPLETED"
                    )
                    waking.cancel()
                self.wake.clear()
                self.connection_tend()
                while self.inbox and not stop.is_set():
                    await self.batch_handle()
        finally:
            stopping.cancel()

    async def batch_handle(self) -> None:
        batch = [self.inbox.popleft() for _ in range(min(len(self.inbox), MAX_BATCH))]
        try:
            await self.batch_store(batch)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception(
                "storing MQTT messages of broker %s failed; retrying", self.config.broker_id
            )
            self.status = "connected; the database refused a write, retrying"
            self.inbox.extendleft(reversed(batch))
            await asyncio.sleep(RETRY_SECONDS)
            return
        for message in batch:
            if message.qos > 0:
                self.client.ack(message.packet_id, message.qos)

    async def batch_store(self, batch: list[Message]) -> None:
        messages, announced = batch, []
        if self.config.ha_discovery:
            messages = [m for m in batch if not self.config.is_discovery(m.topic)]
            announced = [m for m in batch if self.config.is_discovery(m.topic)]
        if announced:
            self.routes_set(await self.in_thread(self.discover_all, announced))
        if not messages:
            return
        slugs: dict[int, str] = {}
        kept: Marks = {}
        for marks in self.recent_marks:
            kept.update(marks)

        def store() -> dict[int, Any]:
            outcome = messages_store(
                broker_id=self.config.broker_id,
                messages=messages,
                table=self.table,
                payload_format=self.config.payload_format,
                kept=kept,
            )
            self.recent_marks.append(outcome.marks)
            for target in self.table.targets:
                slugs[target.stream.pk] = target.stream.slug
            return outcome.stored

        await pipeline_run(store=store, slugs=slugs, in_thread=self.in_thread)

    def discover_all(self, announced: list[Message]) -> RouteTable:
        """Apply Home Assistant announcements; return the routes as they are now."""
        for message in announced:
            self.discover(self.config, message)
        return route_table(self.config.broker_id)
