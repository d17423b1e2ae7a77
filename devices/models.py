"""MQTT brokers users connect, the topics they map to streams, and who runs each bridge.

A broker belongs to a user; its routes say which topic filter feeds which of the
owner's push streams. The bridge that subscribes for it counts what it takes and
refuses here, so the broker's page shows both and the last refusal.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from streams.models import Stream


class PayloadFormat(models.TextChoices):
    AUTO = "auto", "Any of these (recognised per message)"
    NUMBER = "number", "A bare number"
    JSON = "json", "A JSON object of fields"
    THINGSBOARD = "thingsboard", 'ThingsBoard ({"ts": …, "values": {…}}, or a list of them)'


class Broker(models.Model):
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="brokers"
    )
    name = models.CharField(max_length=80)
    # mqtt://host:port; the host obeys the webhook network rule (streams/netguard.py).
    url = models.CharField(max_length=300)
    username = models.CharField(max_length=200, blank=True)
    # Kept as given: the bridge must present it. Never shown back on a page.
    password = models.CharField(max_length=200, blank=True)
    payload_format = models.CharField(
        max_length=20, choices=PayloadFormat.choices, default=PayloadFormat.AUTO
    )
    ha_discovery = models.BooleanField(default=False)
    ha_prefix = models.CharField(max_length=100, default="homeassistant")
    enabled = models.BooleanField(default=True)
    created = models.DateTimeField(auto_now_add=True)
    # What the bridge saw: every message, the ones refused, the last refusal or failure.
    messages = models.BigIntegerField(default=0)
    bad_payloads = models.BigIntegerField(default=0)
    last_error = models.CharField(max_length=500, blank=True)
    last_error_ms = models.BigIntegerField(default=0)
    last_message_ms = models.BigIntegerField(default=0)
    # "connected", "connecting" or why not; written by the bridge.
    status = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["name", "pk"]

    def __str__(self) -> str:
        return self.name

    @property
    def client_id(self) -> str:
        """Return the fixed client id that keeps the broker's session across restarts."""
        return f"pulseboard-broker-{self.pk}"


class Route(models.Model):
    """One topic filter (MQTT wildcards + and #) whose messages become samples of one stream."""

    broker = models.ForeignKey(Broker, on_delete=models.CASCADE, related_name="routes")
    topic = models.CharField(max_length=300)
    stream = models.ForeignKey(Stream, on_delete=models.CASCADE, related_name="mqtt_routes")
    # The field a bare number (or a Home Assistant state) is stored in.
    field = models.CharField(max_length=80, default="value")
    # A JSON key whose value is that bare value (Home Assistant's `value_json.<key>`).
    value_key = models.CharField(max_length=80, blank=True)
    # Made by Home Assistant discovery rather than by hand.
    discovered = models.BooleanField(default=False)

    class Meta:
        ordering = ["topic", "pk"]
        constraints = [models.UniqueConstraint(fields=["broker", "topic"], name="route_topic_once")]

    def __str__(self) -> str:
        return f"{self.topic} → {self.stream.slug}"


class BrokerLease(models.Model):
    """Who runs a broker's bridge, until when: one bridge per broker across processes."""

    broker = models.OneToOneField(Broker, on_delete=models.CASCADE, primary_key=True)
    holder = models.CharField(max_length=120, blank=True)
    expires_ms = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.broker_id} held by {self.holder or 'nobody'}"


class DeliveryMarks(models.Model):
    """The messages of a broker's last few stored batches: packet id → digest (JSON).

    Written in the transaction that stores a batch's samples, so a message the broker
    sends again after a crash, before our acknowledgement reached it (same packet
    id, same bytes, DUP set), is recognised and not stored twice. One row per broker,
    not one per message: a batch costs one UPDATE however many messages it holds.
    """

    broker = models.OneToOneField(
        Broker, on_delete=models.CASCADE, primary_key=True, related_name="delivery_marks"
    )
    marks = models.TextField(default="{}")

    def __str__(self) -> str:
        return f"marks of {self.broker_id}"
