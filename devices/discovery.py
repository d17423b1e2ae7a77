"""Home Assistant MQTT discovery: a sensor announced on `<prefix>/sensor/…/config` becomes a stream.

Opt-in per broker. The announcement (JSON: name, state_topic, unit_of_measurement,
device_class, unique_id, value_template) creates or updates a push stream of the
broker's owner, `ha.<broker id>.<object id>`, within the per-user stream limit,
and a route from its state topic; an empty announcement removes the route (the
stream and its history stay). A refused announcement counts as a bad payload.
"""

from __future__ import annotations

import json
import re
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db.models import F

from devices.bridge import BrokerConfig
from devices.models import Broker, Route
from devices.payloads import MAX_PAYLOAD_BYTES, template_key
from devices.store import MAX_ERROR, Message
from streams.catalog import SlugTaken, StreamRequest, stream_create
from streams.clock import now_ms
from streams.models import SourceKind, Stream

NOT_SLUG = re.compile(r"[^A-Za-z0-9._-]+")


class DiscoveryError(Exception):
    """An announcement we cannot follow; the text says why."""


def announced_object(config: BrokerConfig, topic: str) -> str:
    """Return the object id of `<prefix>/sensor/[<node id>/]<object id>/config`."""
    parts = topic[len(config.ha_prefix) + 1 :].split("/")
    if len(parts) not in (3, 4) or parts[0] != "sensor" or parts[-1] != "config":
        raise DiscoveryError("not a sensor's config topic.")
    return "_".join(parts[1:-1])


def stream_slug(broker_id: int, object_id: str) -> str:
    return f"ha.{broker_id}.{NOT_SLUG.sub('_', object_id)}"[:80]


def announced_fields(announcement: dict[str, Any]) -> list[dict[str, str]]:
    """Return the stream's one field: named for the device class, a number when it has a unit or class."""
    unit = str(announcement.get("unit_of_measurement") or "")[:40]
    device_class = str(announcement.get("device_class") or "")
    numeric = bool(unit or device_class or announcement.get("state_class"))
    name = NOT_SLUG.sub("_", device_class)[:40] or "value"
    return [{"name": name, "unit": unit, "type": "number" if numeric else "text"}]


def announcement_of(payload: bytes) -> dict[str, Any]:
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise DiscoveryError("the announcement is too large.")
    try:
        announcement = json.loads(payload)
    except ValueError:
        raise DiscoveryError("the announcement is not JSON.") from None
    if not isinstance(announcement, dict):
        raise DiscoveryError("the announcement is not a JSON object.")
    state_topic = announcement.get("state_topic")
    if (
        not isinstance(state_topic, str)
        or not state_topic
        or "#" in state_topic
        or "+" in state_topic
    ):
        raise DiscoveryError("the announcement has no state_topic.")
    return announcement


def sensor_stream(config: BrokerConfig, slug: str, announcement: dict[str, Any]) -> Stream:
    """Return the owner's stream for the sensor, created or brought up to date."""
    title = str(announcement.get("name") or slug)[:200]
    fields = announced_fields(announcement)
    stream = Stream.objects.filter(slug=slug).first()
    if stream is None:
        owner = get_user_model().objects.get(pk=config.owner_id)
        request = StreamRequest(
            slug=slug, title=title, source_kind=str(SourceKind.PUSH), fields=fields
        )
        try:
            return stream_create(owner=owner, request=request)
        except ValidationError as error:
            raise DiscoveryError(" ".join(error.messages)) from None
        except SlugTaken:
            raise DiscoveryError(f"the stream {slug} was made meanwhile; announce again.") from None
    if stream.owner_id != config.owner_id or stream.source_kind != SourceKind.PUSH:
        raise DiscoveryError(f"{slug} is another user's stream or not a push stream.")
    if stream.title != title or stream.fields != fields:
        stream.title, stream.fields = title, fields
        stream.save(update_fields=["title", "fields"])
    return stream


def discovery_apply(config: BrokerConfig, message: Message) -> str:
    """Follow one announcement; return why not ("" when followed). Counts a refusal."""
    try:
        object_id = announced_object(config, message.topic)
        slug = stream_slug(config.broker_id, object_id)
        if not message.payload:
            Route.objects.filter(
                broker_id=config.broker_id, discovered=True, stream__slug=slug
            ).delete()
            return ""
        announcement = announcement_of(message.payload)
        stream = sensor_stream(config, slug, announcement)
        Route.objects.update_or_create(
            broker_id=config.broker_id,
            topic=announcement["state_topic"][:300],
            defaults={
                "stream": stream,
                "field": stream.fields[0]["name"],
                "value_key": template_key(str(announcement.get("value_template") or "")),
                "discovered": True,
            },
        )
        return ""
    except DiscoveryError as error:
        reason = f"{message.topic}: {error}"[:MAX_ERROR]
        Broker.objects.filter(pk=config.broker_id).update(
            bad_payloads=F("bad_payloads") + 1, last_error=reason, last_error_ms=now_ms()
        )
        return reason
