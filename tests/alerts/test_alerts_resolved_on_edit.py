"""A firing rule that is changed, turned off or deleted tells its receivers it ended; notices carry the value of their moment."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from alerts import services
from alerts.delivery import deliveries_send_due
from alerts.models import AlertEvent, AlertRule, ContactPoint, Delivery
from alerts.services import contact_save
from streams.clock import now_ms
from streams.messages import user_group
from streams.models import Stream
from tests.alerts.alert_helpers import T0, Receiver, rule_save, temperature

pytestmark = pytest.mark.django_db
CHANGED = "the rule was changed or turned off"


@pytest.fixture(autouse=True)
def quiet_and_local(settings: Any) -> None:
    settings.PULSEBOARD_ALERT_SENDER = False
    settings.PULSEBOARD_WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.0/8"]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    receiver = Receiver().start()
    yield receiver
    receiver.stop()


@pytest.fixture
def hook(owner: Any, receiver: Receiver) -> ContactPoint:
    return contact_save(owner=owner, name="On-call hook", kind="webhook", url=receiver.url)


def save_rule(owner: Any, stream: Stream, contacts: list[ContactPoint], **changes: Any) -> Any:
    rule = AlertRule.objects.filter(owner=owner).first()
    settings: dict[str, Any] = {
        "name": "Too warm",
        "stream": stream,
        "field": "temperature",
        "condition": "above",
        "threshold": 30.0,
        "duration_seconds": 0,
        "enabled": True,
        "contacts": contacts,
    }
    return rule_save(owner, rule=rule, **(settings | changes))


def send_everything() -> None:
    while deliveries_send_due(now_ms()):
        pass


def firing(owner: Any, stream: Stream, hook: ContactPoint) -> AlertRule:
    save_rule(owner, stream, [hook])
    temperature(stream, T0, 35)
    temperature(stream, T0 + 1_000, 33)
    return AlertRule.objects.get(owner=owner)


@pytest.mark.parametrize(
    "change",
    [{"threshold": 40.0}, {"enabled": False}, {"condition": "below"}],
    ids=["threshold changed", "turned off", "condition changed"],
)
def test_a_changed_or_disabled_firing_rule_sends_resolved_once(
    owner: Any,
    stream: Stream,
    hook: ContactPoint,
    receiver: Receiver,
    change: dict[str, Any],
) -> None:
    rule = firing(owner, stream, hook)
    assert rule.state == "firing"
    save_rule(owner, stream, [hook], **change)
    # A second save (the same change again, or only the name) says nothing more.
    save_rule(owner, stream, [hook], **change)
    save_rule(owner, stream, [hook], name="Too warm!", **change)
    send_everything()
    bodies = [request.json for request in receiver.received]
    assert [body["state"] for body in bodies] == ["firing", "resolved"]
    resolved = bodies[1]
    assert resolved["reason"] == CHANGED
    assert resolved["event"] == bodies[0]["event"]
    # The notice speaks of the rule that fired, and of the value when it ended.
    assert (resolved["rule"]["threshold"], resolved["field"]) == (30.0, "temperature")
    assert resolved["value"] == 33.0
    assert resolved["message"] == "Too warm: sensors.alice temperature is 33 now"
    event = AlertEvent.objects.get()
    assert (event.resolved is not None, event.resolved_reason) == (True, CHANGED)


def test_resolved_goes_to_the_contact_points_that_heard_the_firing(
    owner: Any, stream: Stream, hook: ContactPoint, receiver: Receiver
) -> None:
    firing(owner, stream, hook)
    other = contact_save(owner=owner, name="Elsewhere", kind="browser")
    save_rule(owner, stream, [other], threshold=40.0)
    send_everything()
    assert [request.json["state"] for request in receiver.received] == ["firing", "resolved"]


def test_a_deleted_firing_rule_sends_resolved(
    owner: Any, stream: Stream, hook: ContactPoint, receiver: Receiver
) -> None:
    rule = firing(owner, stream, hook)
    services.alert_rule_delete(rule=rule)
    send_everything()
    bodies = [request.json for request in receiver.received]
    assert [(body["state"], body["reason"]) for body in bodies][1] == (
        "resolved",
        "the rule was deleted",
    )
    assert not AlertRule.objects.exists()
    assert Delivery.objects.filter(state="resolved", status="sent").count() == 1


def test_editing_a_quiet_rule_sends_nothing(
    owner: Any, stream: Stream, hook: ContactPoint, receiver: Receiver
) -> None:
    save_rule(owner, stream, [hook])
    temperature(stream, T0, 20)
    save_rule(owner, stream, [hook], threshold=10.0, enabled=False)
    send_everything()
    assert receiver.received == []


def page_frames(owner: Any, act: Any) -> list[dict[str, Any]]:
    """Return the alert frames the owner's open pages receive while `act()` runs."""
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(user_group(owner.pk), channel)
    act()

    async def drain() -> list[dict[str, Any]]:
        frames = []
        try:
            while True:
                message = await asyncio.wait_for(layer.receive(channel), 0.3)
                frames.append(message["frame"])
        except TimeoutError:
            return frames

    return async_to_sync(drain)()


def test_the_page_hears_of_the_edit_with_the_value_of_the_moment(
    owner: Any, stream: Stream, hook: ContactPoint, django_capture_on_commit_callbacks: Any
) -> None:
    firing(owner, stream, hook)

    def edit() -> None:
        with django_capture_on_commit_callbacks(execute=True):
            save_rule(owner, stream, [hook], enabled=False)

    [frame] = page_frames(owner, edit)
    assert (frame["state"], frame["reason"], frame["value"]) == ("resolved", CHANGED, 33.0)
    assert "33" in frame["message"] and "35" not in frame["message"]


def test_a_resolved_toast_shows_the_value_it_resolved_at_not_the_firing_one(
    owner: Any, stream: Stream, hook: ContactPoint
) -> None:
    save_rule(owner, stream, [hook])
    [fired] = temperature(stream, T0, 35)
    [resolved] = temperature(stream, T0 + 1_000, 25)
    firing_frame, resolved_frame = fired[1]["frame"], resolved[1]["frame"]  # type: ignore[typeddict-item]
    assert (firing_frame["value"], firing_frame["message"]) == (
        35.0,
        "Too warm: sensors.alice temperature above 30 (35)",
    )
    assert (resolved_frame["value"], resolved_frame["message"]) == (
        25.0,
        "Too warm: sensors.alice temperature is 25 now",
    )
    send_everything()
    notice = Delivery.objects.get(state="resolved").payload
    assert (notice["value"], notice["message"]) == (25.0, resolved_frame["message"])


def admin_post(client: Any, rule: AlertRule, **changes: Any) -> Any:
    """Save the rule's admin form with `changes` over what it holds, as staff would."""
    data = {
        "owner": rule.owner_id,
        "name": rule.name,
        "stream": rule.stream_id,
        "field": rule.field,
        "condition": rule.condition,
        "threshold": rule.threshold,
        "duration_seconds": rule.duration_seconds,
        "no_data_seconds": rule.no_data_seconds,
        "on_stop": rule.on_stop,
        "min_interval_seconds": rule.min_interval_seconds,
        "contacts": list(rule.contacts.values_list("pk", flat=True)),
        "enabled": "on" if rule.enabled else "",
    } | changes
    return client.post(f"/admin/alerts/alertrule/{rule.pk}/change/", data)


def test_staff_changing_a_firing_rule_in_the_admin_resolves_it_like_the_page(
    owner: Any, stream: Stream, hook: ContactPoint, receiver: Receiver, admin_client: Any
) -> None:
    rule = firing(owner, stream, hook)
    response = admin_post(admin_client, rule, threshold=40.0)
    assert response.status_code == 302, response.content.decode()[:2000]
    send_everything()
    assert [(r.json["state"], r.json["reason"]) for r in receiver.received] == [
        ("firing", "temperature met “above the threshold” at once"),
        ("resolved", CHANGED),
    ]
    rule.refresh_from_db()
    assert (rule.state, rule.threshold) == ("ok", 40.0)


def test_the_admin_names_the_same_problems_as_the_page(
    owner: Any, stream: Stream, hook: ContactPoint, admin_client: Any
) -> None:
    rule = firing(owner, stream, hook)
    page = admin_post(admin_client, rule, field="pressure", min_interval_seconds="-1")
    assert page.status_code == 200
    text = page.content.decode()
    assert "sensors.alice has no field &#x27;pressure&#x27; (it has temperature)" in text
    assert "must be from 0 to 86400 seconds" in text
    assert AlertRule.objects.get().field == "temperature"
