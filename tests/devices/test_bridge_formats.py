"""Messages through a real mosquitto become samples, whatever shape the device sends them in."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from devices.models import Broker, BrokerLease, PayloadFormat, Route
from streams.models import Sample, Stream
from streams.producer.loop import Producer
from tests.devices.bridges import broker_row, connected
from tests.devices.mosquitto import Mosquitto
from tests.support.samples import stored_values
from tests.support.waiting import eventually, in_db

pytestmark = pytest.mark.django_db(transaction=True)


def paho_publish(mosquitto: Mosquitto, messages: list[tuple[str, Any]]) -> None:
    """Publish JSON messages with QoS 1 from a paho client, as a gateway would."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="gateway")
    client.connect("127.0.0.1", mosquitto.port)
    client.loop_start()
    try:
        for topic, body in messages:
            client.publish(topic, json.dumps(body), qos=1).wait_for_publish(5)
    finally:
        client.disconnect()
        client.loop_stop()


async def test_a_bare_number_and_a_json_object_become_samples(
    broker: Broker, push_stream: Stream, mosquitto: Mosquitto, bridges: Any
) -> None:
    bridges()
    await connected(broker)
    mosquitto.publish("home/kitchen/value", "21.5")
    mosquitto.publish("home/kitchen/value", '{"value": 22, "label": "warm"}')
    values = await eventually(
        lambda: len(stored_values(push_stream)) == 2 and stored_values(push_stream)
    )
    assert values == [{"value": 21.5}, {"value": 22, "label": "warm"}]


async def test_thingsboard_shapes_keep_the_device_time(
    broker: Broker, push_stream: Stream, mosquitto: Mosquitto, bridges: Any
) -> None:
    await in_db(
        lambda: Broker.objects.filter(pk=broker.pk).update(payload_format=PayloadFormat.THINGSBOARD)
    )
    bridges()
    await connected(broker)
    base = 1_700_000_000_000
    await asyncio.to_thread(
        paho_publish,
        mosquitto,
        [
            ("home/tb/value", {"ts": base, "values": {"value": 1}}),
            (
                "home/tb/value",
                [
                    {"ts": base + 20, "values": {"value": 3}},
                    {"ts": base + 10, "values": {"value": 2}},
                ],
            ),
            ("home/tb/value", {"value": 4}),
        ],
    )
    await eventually(lambda: Sample.objects.filter(stream=push_stream).count() == 4)
    rows = await in_db(
        lambda: list(
            Sample.objects.filter(stream=push_stream)
            .order_by("seq")
            .values_list("seq", "t", "values")
        )
    )
    assert [(seq, values["value"]) for seq, _t, values in rows] == [(1, 1), (2, 2), (3, 3), (4, 4)]
    assert [t for _seq, t, _values in rows[:3]] == [base, base + 10, base + 20]
    # The last one carried no time: the server stamped it, later than the others.
    assert rows[3][1] > base + 20


async def test_bad_payloads_are_counted_with_the_last_reason_and_the_bridge_goes_on(
    broker: Broker, push_stream: Stream, mosquitto: Mosquitto, bridges: Any
) -> None:
    bridges()
    await connected(broker)
    mosquitto.publish("home/kitchen/value", "warm")
    mosquitto.publish("home/kitchen/value", '{"humidity": 40}')
    mosquitto.publish("home/kitchen/value", "{not json")
    mosquitto.publish("home/kitchen/value", "19")
    await eventually(lambda: stored_values(push_stream) == [{"value": 19}])
    row = await eventually(lambda: broker_row(broker).bad_payloads == 3 and broker_row(broker))
    assert row.messages == 4
    # "{not json" is text, which the number field refuses, naming it.
    assert "home/kitchen/value" in row.last_error
    assert "value" in row.last_error and "number" in row.last_error


async def test_a_topic_no_route_takes_is_counted_not_stored(
    broker: Broker, push_stream: Stream, mosquitto: Mosquitto, bridges: Any
) -> None:
    await in_db(lambda: Route.objects.create(broker=broker, topic="garden/#", stream=push_stream))
    bridges()
    await connected(broker)
    mosquitto.publish("garden/pond/level", "3")
    await eventually(lambda: stored_values(push_stream) == [{"value": 3}])


async def test_a_stopped_stream_takes_nothing_and_says_so(
    broker: Broker, push_stream: Stream, mosquitto: Mosquitto, bridges: Any
) -> None:
    await in_db(lambda: Stream.objects.filter(pk=push_stream.pk).update(running=False))
    bridges()
    await connected(broker)
    mosquitto.publish("home/kitchen/value", "5")
    row = await eventually(lambda: broker_row(broker).bad_payloads == 1 and broker_row(broker))
    assert "stopped" in row.last_error
    assert await in_db(lambda: stored_values(push_stream)) == []


async def test_a_broker_on_a_private_address_is_not_reached(
    broker: Broker, bridges: Any, settings: Any
) -> None:
    settings.PULSEBOARD_WEBHOOK_ALLOWED_NETWORKS = []
    bridges()
    row = await eventually(lambda: "refused" in broker_row(broker).status and broker_row(broker))
    assert "private_address" in row.status


async def test_a_producer_runs_the_bridges_when_told(
    broker: Broker, push_stream: Stream, mosquitto: Mosquitto, settings: Any
) -> None:
    settings.PULSEBOARD_MQTT_BRIDGES = True
    stop = asyncio.Event()
    producer = asyncio.ensure_future(Producer().run(stop))
    try:
        await connected(broker)
        mosquitto.publish("home/kitchen/value", "7")
        await eventually(lambda: stored_values(push_stream) == [{"value": 7}])
    finally:
        stop.set()
        await asyncio.wait_for(producer, timeout=15)
    # Stopping the producer stopped its bridges and gave the broker back.
    lease = await in_db(lambda: BrokerLease.objects.get(broker=broker))
    assert lease.holder == ""
