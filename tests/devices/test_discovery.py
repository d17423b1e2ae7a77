"""Home Assistant discovery through a real mosquitto: an announced sensor becomes a stream of the broker's owner."""

from __future__ import annotations

import json
from typing import Any

import pytest

from devices.models import Broker, Route
from streams.models import Stream
from tests.devices.bridges import broker_row, connected
from tests.devices.mosquitto import Mosquitto
from tests.support.samples import stored_values
from tests.support.waiting import eventually, in_db

pytestmark = pytest.mark.django_db(transaction=True)

CONFIG = "homeassistant/sensor/greenhouse/temp/config"
ANNOUNCEMENT = {
    "name": "Greenhouse temperature",
    "state_topic": "greenhouse/temp/state",
    "unit_of_measurement": "°C",
    "device_class": "temperature",
    "value_template": "{{ value_json.temperature }}",
}


@pytest.fixture
def discovering(owner: Any, mosquitto: Mosquitto, loopback_allowed: None) -> Broker:
    return Broker.objects.create(owner=owner, name="HA", url=mosquitto.url, ha_discovery=True)


def announced_stream(broker: Broker) -> Stream | None:
    return Stream.objects.filter(slug=f"ha.{broker.pk}.greenhouse_temp").first()


async def test_an_announced_sensor_becomes_a_stream_fed_by_its_state_topic(
    discovering: Broker, owner: Any, mosquitto: Mosquitto, bridges: Any
) -> None:
    bridges()
    await connected(discovering)
    mosquitto.publish(CONFIG, json.dumps(ANNOUNCEMENT), retain=True)
    stream = await eventually(lambda: announced_stream(discovering))
    assert (stream.owner_id, stream.title, stream.source_kind) == (
        owner.pk,
        ANNOUNCEMENT["name"],
        "push",
    )
    assert stream.fields == [{"name": "temperature", "unit": "°C", "type": "number"}]
    await eventually(lambda: Route.objects.filter(broker=discovering, discovered=True).exists())
    mosquitto.publish("greenhouse/temp/state", '{"temperature": 21.5}', retain=True)
    await eventually(lambda: stored_values(stream) == [{"temperature": 21.5}])
    # Announced again with another unit: the same stream, brought up to date.
    mosquitto.publish(CONFIG, json.dumps({**ANNOUNCEMENT, "unit_of_measurement": "K"}), retain=True)
    await eventually(lambda: announced_stream(discovering).fields[0]["unit"] == "K")  # type: ignore[union-attr]
    # An empty announcement removes the sensor's route; its stream and history stay.
    mosquitto.publish(CONFIG, "", retain=True)
    await eventually(lambda: not Route.objects.filter(broker=discovering).exists())
    assert await in_db(lambda: stored_values(stream)) == [{"temperature": 21.5}]


async def test_an_announcement_past_the_stream_limit_is_refused_and_counted(
    discovering: Broker, mosquitto: Mosquitto, bridges: Any, settings: Any, push_stream: Stream
) -> None:
    settings.PULSEBOARD_MAX_STREAMS_PER_USER = 1
    bridges()
    await connected(discovering)
    mosquitto.publish(CONFIG, json.dumps(ANNOUNCEMENT))
    row = await eventually(
        lambda: broker_row(discovering).bad_payloads == 1 and broker_row(discovering)
    )
    assert CONFIG in row.last_error and "1 streams already" in row.last_error
    assert await in_db(lambda: announced_stream(discovering)) is None


async def test_without_the_opt_in_announcements_are_not_even_heard(
    discovering: Broker, mosquitto: Mosquitto, bridges: Any, push_stream: Stream
) -> None:
    await in_db(lambda: Broker.objects.filter(pk=discovering.pk).update(ha_discovery=False))
    await in_db(lambda: Route.objects.create(broker=discovering, topic="meter", stream=push_stream))
    bridges()
    await connected(discovering)
    mosquitto.publish(CONFIG, json.dumps(ANNOUNCEMENT))
    mosquitto.publish("meter", "5")
    # The routed message, published after the announcement, is stored: the bridge has
    # had every chance to hear the announcement, and heard only the one message.
    await eventually(lambda: stored_values(push_stream) == [{"value": 5}])
    assert await in_db(lambda: broker_row(discovering).messages) == 1
    assert await in_db(lambda: announced_stream(discovering)) is None
