"""The bridges of one process: take broker leases, run a bridge per broker held, keep them current.

Runs beside every producer (when PULSEBOARD_MQTT_BRIDGES is on) and as
`manage.py mqttbridge`. Every few seconds it renews its leases, claims brokers
nobody holds, stops the bridges of brokers it lost, were deleted or changed, and
writes each bridge's status for the broker's page.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import close_old_connections, connection

from devices.bridge import Bridge, BrokerConfig
from devices.discovery import discovery_apply
from devices.leases import broker_leases_claim, broker_leases_release
from devices.models import Broker
from devices.routes import RouteTable, route_table
from streams.clock import now_ms
from streams.producer.leases import lease_holder_name

log = logging.getLogger(__name__)

RECONCILE_SECONDS = 2.0
LEASE_SECONDS = 10.0
# A bridge that ended (its address refused, say) is started again after this long.
RESTART_SECONDS = 10.0


@dataclass
class Running:
    bridge: Bridge
    task: asyncio.Task[None]
    stop: asyncio.Event
    ended_at: float = 0.0


def broker_config(broker: Broker) -> BrokerConfig:
    return BrokerConfig(
        broker_id=broker.pk,
        owner_id=broker.owner_id,
        url=broker.url,
        username=broker.username,
        password=broker.password,
        payload_format=broker.payload_format,
        ha_discovery=broker.ha_discovery,
        ha_prefix=broker.ha_prefix,
        client_id=broker.client_id,
    )


def brokers_claim(holder: str) -> dict[int, tuple[BrokerConfig, RouteTable]]:
    """Return the brokers this process holds now, with their routes."""
    brokers = {broker.pk: broker for broker in Broker.objects.filter(enabled=True)}
    held = broker_leases_claim(
        holder=holder, broker_ids=list(brokers), now=now_ms(), ttl_ms=int(LEASE_SECONDS * 1000)
    )
    return {pk: (broker_config(brokers[pk]), route_table(pk)) for pk in held}


def statuses_write(statuses: dict[int, str]) -> None:
    for broker_id, status in statuses.items():
        Broker.objects.filter(pk=broker_id).exclude(status=status).update(status=status[:200])


class Supervisor:
    def __init__(self, holder: str | None = None):
        self.holder = holder or lease_holder_name()
        self.running: dict[int, Running] = {}
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mqtt-leases")

    async def in_thread(self, function: Any, *args: Any) -> Any:
        def call() -> Any:
            close_old_connections()
            return function(*args)

        return await asyncio.get_running_loop().run_in_executor(self.executor, call)

    async def run(self, stop: asyncio.Event) -> None:
        log.info("MQTT bridges of %s starting", self.holder)
        try:
            while not stop.is_set():
                try:
                    await self.reconcile()
                except Exception:
                    log.exception("MQTT bridges: reconcile failed; trying again")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=RECONCILE_SECONDS)
        finally:
            await asyncio.gather(*(self.bridge_stop(pk) for pk in list(self.running)))
            with contextlib.suppress(Exception):
                await self.in_thread(lambda: broker_leases_release(holder=self.holder))
                await self.in_thread(connection.close)
            self.executor.shutdown(wait=False)
            log.info("MQTT bridges of %s stopped", self.holder)

    async def reconcile(self) -> None:
        held = await self.in_thread(brokers_claim, self.holder)
        for pk in [pk for pk in self.running if pk not in held]:
            await self.bridge_stop(pk)
        loop_now = asyncio.get_running_loop().time()
        for pk, (config, table) in held.items():
            running = self.running.get(pk)
            if running is not None and running.bridge.config != config:
                await self.bridge_stop(pk)
                running = None
            if running is not None and running.task.done():
                running.ended_at = running.ended_at or loop_now
                if loop_now - running.ended_at < RESTART_SECONDS:
                    continue
                await self.bridge_stop(pk)
                running = None
            if running is None:
                self.bridge_start(config, table)
            elif running.bridge.table.fingerprint() != table.fingerprint():
                running.bridge.routes_set(table)
        statuses = {pk: running.bridge.status for pk, running in self.running.items()}
        await self.in_thread(statuses_write, statuses)

    def bridge_start(self, config: BrokerConfig, table: RouteTable) -> None:
        bridge = Bridge(config, table, discovery_apply)
        stop = asyncio.Event()
        task = asyncio.ensure_future(self.bridge_run(bridge, stop))
        self.running[config.broker_id] = Running(bridge, task, stop)

    async def bridge_run(self, bridge: Bridge, stop: asyncio.Event) -> None:
        try:
            await bridge.run(stop)
        except Exception as error:
            log.exception("MQTT bridge of broker %s failed", bridge.config.broker_id)
            bridge.status = f"stopped by an error: {error}"[:200]

    async def bridge_stop(self, broker_id: int) -> None:
        running = self.running.pop(broker_id, None)
        if running is None:
            return
        running.stop.set()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(running.task, timeout=5.0)


async def bridges_run(stop: asyncio.Event) -> None:
    """Run this process's MQTT bridges until `stop` is set, if PULSEBOARD_MQTT_BRIDGES is on."""
    if settings.PULSEBOARD_MQTT_BRIDGES:
        await Supervisor().run(stop)
