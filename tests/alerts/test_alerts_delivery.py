"""Notices reach contact points: signed webhooks to a local receiver, email, retries, order, once."""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.core import mail

from alerts.confirmation import contact_confirm
from alerts.delivery import contact_send_test, deliveries_send_due, delivery_claim
from alerts.models import ContactPoint, Delivery
from alerts.notices import DELIVERY_HEADER, SIGNATURE_HEADER
from alerts.sender import sender_stop
from alerts.services import contact_save
from streams.clock import now_ms
from streams.models import Stream
from streams.producer.timers import timers_fire
from tests.alerts.alert_helpers import T0, Receiver, rule_save, temperature

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def no_background_sender(settings: Any) -> None:
    """Tests send with deliveries_send_due on a clock they drive; no thread takes a notice first."""
    settings.PULSEBOARD_ALERT_SENDER = False


@pytest.fixture(autouse=True)
def loopback_receivers(settings: Any) -> None:
    """Receivers here listen on loopback, which the operator must allow (the loopback demo does)."""
    settings.PULSEBOARD_WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.0/8", "::1/128"]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    receiver = Receiver().start()
    yield receiver
    receiver.stop()


@pytest.fixture
def hook(owner: Any, receiver: Receiver) -> ContactPoint:
    return contact_save(owner=owner, name="On-call hook", kind="webhook", url=receiver.url)


def rule_to(owner: Any, stream: Stream, *contacts: ContactPoint) -> Any:
    return rule_save(
        owner,
        name="Too warm",
        stream=stream,
        field="temperature",
        condition="above",
        threshold=30.0,
        duration_seconds=0,
        enabled=True,
        contacts=list(contacts),
    )


def fire_and_resolve(stream: Stream) -> None:
    temperature(stream, T0, 35)
    temperature(stream, T0 + 1_000, 25)


def send_everything(now: int) -> None:
    while deliveries_send_due(now):
        pass


def test_a_firing_reaches_the_webhook_signed_and_says_why(
    owner: Any, stream: Stream, hook: ContactPoint, receiver: Receiver, dashboard: Any
) -> None:
    rule_to(owner, stream, hook)
    temperature(stream, T0, 35)
    send_everything(now_ms())
    [request] = receiver.received
    expected = hmac.new(hook.secret.encode(), request.body, hashlib.sha256).hexdigest()
    assert request.headers[SIGNATURE_HEADER] == f"sha256={expected}"
    body = request.json
    assert body["state"] == "firing"
    assert body["reason"] == "temperature met “above the threshold” at once"
    assert (body["rule"]["name"], body["stream"], body["field"], body["value"]) == (
        "Too warm",
        "sensors.alice",
        "temperature",
        35.0,
    )
    assert body["started"] == T0 and body["resolved"] is None
    assert body["dashboard"].endswith(f"/d/{dashboard.pk}/")
    delivery = Delivery.objects.get()
    assert request.headers[DELIVERY_HEADER] == str(delivery.pk)
    assert (delivery.status, delivery.attempts, delivery.response_status) == ("sent", 1, 200)


def test_a_500_is_retried_after_a_backoff_and_nothing_is_lost_or_sent_twice(
    owner: Any, stream: Stream, hook: ContactPoint, receiver: Receiver
) -> None:
    receiver.statuses = [500]
    rule_to(owner, stream, hook)
    fire_and_resolve(stream)
    now = now_ms()
    send_everything(now)
    assert [r.json["state"] for r in receiver.received] == ["firing"]
    failed = Delivery.objects.get(state="firing")
    assert (failed.status, failed.attempts, failed.last_error) == ("queued", 1, "HTTP 500")
    # The resolution waits behind the firing, so the receiver sees them in order.
    send_everything(now + 999)
    assert len(receiver.received) == 1
    send_everything(now + 1_000)
    send_everything(now + 60_000)
    assert [r.json["state"] for r in receiver.received] == ["firing", "firing", "resolved"]
    assert sorted(Delivery.objects.values_list("state", "status", "attempts")) == [
        ("firing", "sent", 2),
        ("resolved", "sent", 1),
    ]


def test_a_contact_that_keeps_failing_is_given_up_after_bounded_retries(
    owner: Any, stream: Stream, hook: ContactPoint, receiver: Receiver
) -> None:
    receiver.statuses = [503] * 20
    rule_to(owner, stream, hook)
    temperature(stream, T0, 35)
    now = now_ms()
    for step in range(20):
        send_everything(now + step * 10 * 60_000)
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.attempts) == ("failed", 8)
    assert len(receiver.received) == 8


def test_a_refusal_is_not_retried(
    owner: Any, stream: Stream, hook: ContactPoint, receiver: Receiver
) -> None:
    receiver.statuses = [404]
    rule_to(owner, stream, hook)
    temperature(stream, T0, 35)
    send_everything(now_ms())
    send_everything(now_ms() + 60_000)
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.response_status) == ("failed", 1, 404)


def test_two_senders_never_both_take_a_notice(
    owner: Any, stream: Stream, hook: ContactPoint
) -> None:
    rule_to(owner, stream, hook)
    temperature(stream, T0, 35)
    delivery = Delivery.objects.get()
    now = now_ms()
    assert delivery_claim(delivery.pk, now) is True
    assert delivery_claim(delivery.pk, now) is False
    # A sender that vanished mid-send loses its claim after a minute.
    assert delivery_claim(delivery.pk, now + 60_001) is True


def test_an_email_contact_gets_a_message_that_says_why(owner: Any, stream: Stream) -> None:
    address = contact_save(owner=owner, name="Me", kind="email", email="alice@example.com")
    contact_confirm(contact=address)
    rule_to(owner, stream, address)
    fire_and_resolve(stream)
    Delivery.objects.filter(state="confirm").delete()
    send_everything(now_ms())
    assert [message.subject for message in mail.outbox] == [
        "[Pulseboard] Alert firing: Too warm",
        "[Pulseboard] Resolved: Too warm",
    ]
    assert mail.outbox[0].to == ["alice@example.com"]
    assert "Why: temperature met “above the threshold” at once" in mail.outbox[0].body
    assert "Why: temperature was back to normal at once" in mail.outbox[1].body


def test_a_disabled_contact_gets_nothing(
    owner: Any, stream: Stream, hook: ContactPoint, receiver: Receiver
) -> None:
    rule_to(owner, stream, hook)
    ContactPoint.objects.filter(pk=hook.pk).update(enabled=False)
    fire_and_resolve(stream)
    send_everything(now_ms())
    assert receiver.received == [] and not Delivery.objects.exists()


def test_send_test_reaches_the_receiver(hook: ContactPoint, receiver: Receiver) -> None:
    contact_send_test(contact=hook)
    send_everything(now_ms())
    [request] = receiver.received
    assert request.json["state"] == "test"
    assert "Send test" in request.json["reason"]


@pytest.fixture
def background_sender(settings: Any) -> Iterator[None]:
    """This process's sender, started as a producer's process starts it: by the clock."""
    settings.PULSEBOARD_ALERT_SENDER = True
    timers_fire(now_ms())
    yield
    settings.PULSEBOARD_ALERT_SENDER = False
    sender_stop()


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("background_sender")
def test_the_background_sender_delivers_without_being_asked(
    owner: Any, stream: Stream, hook: ContactPoint, receiver: Receiver
) -> None:
    rule_to(owner, stream, hook)
    temperature(stream, T0, 35)
    deadline = time.monotonic() + 5
    while not receiver.received and time.monotonic() < deadline:
        time.sleep(0.05)
    assert [r.json["state"] for r in receiver.received] == ["firing"]
