"""What the MQTT tests read of a broker row: its status as the bridge writes it."""

from __future__ import annotations

from devices.models import Broker
from tests.support.waiting import eventually


def broker_row(broker: Broker) -> Broker:
    """Return the broker as stored now."""
    return Broker.objects.get(pk=broker.pk)


async def connected(broker: Broker) -> None:
    """Wait until the broker's bridge says it is connected."""
    await eventually(lambda: broker_row(broker).status == "connected")
