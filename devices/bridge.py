"""One broker's bridge: subscribe with QoS 1 in a persistent session, store, then acknowledge.

paho-mqtt's network loop runs in its own thread and only appends what arrives to
an inbox. The bridge's task, on the producer's event loop, takes the inbox in
batches: stores them through the one pipeline (`streams.producer.pipeline`) in
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
from django.db import close_old_connections
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from devices.routes import RouteTable, route_table
from devices.store import Message, Outcome, messages_store
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
        self.signalled = threading.Event()
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mqtt-db")
        self.acknowledged: list[int] = []
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
        client.reconnect_delay_set(min_delay=1, max_delay=30)
        return client

    # -- paho's thread ---------------------------------------------------------

    def on_connect(
        self, client: mqtt.Client, _data: Any, _flags: Any, reason: Any, _p: Any
    ) -> None:
        if reason.is_failure:
            self.status = f"refused by the broker: {reason}"
            return
        self.status = "connected"
        self.subscribed = set()
        self.subscribe_all()

    def on_disconnect(self, _client: Any, _data: Any, _flags: Any, reason: Any, _p: Any) -> None:
        self.status = f"disconnected ({reason}); reconnecting"

    def on_message(self, _client: Any, _data: Any, message: mqtt.MQTTMessage) -> None:
        self.inbox.append(
            Message(
                message.topic, bytes(message.payload), message.mid, bool(message.dup), message.qos
            )
        )
        if not self.signalled.is_set():
            self.signalled.set()
            self.loop.call_soon_threadsafe(self.wake.set)

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
        self.client.loop_start()
        try:
            await self.drain(stop)
        finally:
            await self.loop.run_in_executor(None, self.client_stop)
            self.executor.shutdown(wait=False)

    def client_stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    async def drain(self, stop: asyncio.Event) -> None:
        stopping = asyncio.ensure_future(stop.wait())
        try:
            while not stop.is_set():
                if not self.inbox:
                    waking = asyncio.ensure_future(self.wake.wait())
                    await asyncio.wait(
                        [waking, stopping], timeout=1.0, return_when="FIRST_COMPLETED"
                    )
                    waking.cancel()
                self.wake.clear()
                self.signalled.clear()
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
        self.acknowledged = [message.packet_id for message in batch if message.qos > 0]

    async def batch_store(self, batch: list[Message]) -> None:
        messages = [m for m in batch if not self.config.is_discovery(m.topic)]
        announced = [m for m in batch if self.config.is_discovery(m.topic)]
        if announced:
            self.routes_set(await self.in_thread(self.discover_all, announced))
        if not messages:
            return
        outcome = Outcome()
        slugs: dict[int, str] = {}

        def store() -> dict[int, Any]:
            nonlocal outcome
            outcome = messages_store(
                broker_id=self.config.broker_id,
                messages=messages,
                table=self.table,
                payload_format=self.config.payload_format,
                acknowledged=self.acknowledged,
            )
            for target in self.table.targets:
                slugs[target.stream.pk] = target.stream.slug
            return outcome.stored

        await pipeline_run(store=store, slugs=slugs, in_thread=self.in_thread)

    def discover_all(self, announced: list[Message]) -> RouteTable:
        """Apply Home Assistant announcements; return the routes as they are now."""
        for message in announced:
            self.discover(self.config, message)
        return route_table(self.config.broker_id)
