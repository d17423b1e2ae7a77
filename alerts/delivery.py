"""Alert notices to contact points: queued in the database, sent by a background thread.

A transition queues one `Delivery` row per webhook or email contact of its rule,
in the transaction that claimed the transition, so a notice exists exactly when
its transition does. Any process's sender thread may send it: it first claims
the row with a conditional UPDATE (status and a claim deadline), so two
processes never both send one. A failed attempt is retried with a growing
backoff, a bounded number of times; each contact gets its notices in order (a
later one waits while an earlier one is still being tried). The row is the log
the user reads on the alerts page. Nothing here runs in the producer's tick or
in a request: they only write rows and wake the thread.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import threading
from typing import Any

import orjson
from django.conf import settings
from django.core.mail import send_mail
from django.db import close_old_connections, connections, transaction
from django.db.models import Q
from django.urls import reverse

from dashboards.models import (
    AlertEvent,
    AlertRule,
    ContactKind,
    ContactPoint,
    Delivery,
    DeliveryStatus,
    Widget,
)
from dashboards.webhooks import WebhookFailed, webhook_post
from streams.clock import now_ms

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Pulseboard-Signature"
DELIVERY_HEADER = "X-Pulseboard-Delivery"
MAX_ATTEMPTS = 8
FIRST_BACKOFF_MS = 1000
MAX_BACKOFF_MS = 5 * 60 * 1000
# A sender that claimed a row and vanished (a crash) loses it to another after this.
CLAIM_MS = 60_000
SEND_TIMEOUT_SECONDS = 5.0
# How often the sender thread looks for retries that came due, when nothing wakes it.
POLL_SECONDS = 1.0
SENT_BY_TRANSPORT = (ContactKind.WEBHOOK, ContactKind.EMAIL)
UNCONFIRMED = "not sent: the address is not confirmed yet"


class DeliveryFailed(Exception):
    def __init__(self, message: str, *, status: int | None = None, retry: bool = True):
        super().__init__(message)
        self.status, self.retry = status, retry


# -- what is sent ---------------------------------------------------------------


def site_url(path: str) -> str:
    return settings.PULSEBOARD_SITE_URL.rstrip("/") + path


def rule_link(rule: AlertRule) -> str:
    """Return the owner's first dashboard that shows the rule's stream, or the alerts page."""
    widget = (
        Widget.objects.filter(dashboard__owner_id=rule.owner_id, stream_id=rule.stream_id)
        .order_by("dashboard__position", "dashboard_id")
        .values_list("dashboard_id", flat=True)
        .first()
    )
    if widget is None:
        return site_url(reverse("alerts"))
    return site_url(reverse("dashboard", args=[widget]))


def notice_payload(
    *,
    rule: AlertRule,
    event: AlertEvent,
    state: str,
    reason: str,
    value: float | None,
    message: str,
) -> dict:
    """Return the JSON body of a notice: what happened, when, why, the value then, where to look."""
    return {
        "state": state,
        "reason": reason,
        "message": message,
        "rule": {
            "id": rule.pk,
            "name": rule.name,
            "condition": rule.condition,
            "threshold": rule.threshold,
            "duration_seconds": rule.duration_seconds,
        },
        "stream": rule.stream.slug,
        "field": rule.field,
        "value": value,
        "event": event.pk,
        "started": event.started,
        "resolved": event.resolved,
        "t": event.resolved if state == "resolved" else event.started,
        "dashboard": rule_link(rule),
    }


def test_payload(contact: ContactPoint) -> dict:
    return {
        "state": "test",
        "reason": "“Send test” was pressed on the alerts page",
        "message": f"A test notice to {contact.name}: it works.",
        "rule": None,
        "stream": None,
        "field": None,
        "value": None,
        "event": None,
        "started": None,
        "resolved": None,
        "t": now_ms(),
        "dashboard": site_url(reverse("alerts")),
    }


def signature(secret: str, body: bytes) -> str:
    """Return the signature header's value: the HMAC-SHA256 of the body, hex."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


# -- queueing ---------------------------------------------------------------------


def rule_contacts(rule: AlertRule) -> list[ContactPoint]:
    return list(rule.contacts.filter(enabled=True).order_by("id"))


def rule_has_browser_contact(rule: AlertRule) -> bool:
    return rule.contacts.filter(enabled=True, kind=ContactKind.BROWSER).exists()


def deliveries_queue(
    *,
    rule: AlertRule,
    event: AlertEvent,
    state: str,
    reason: str,
    value: float | None,
    message: str,
) -> None:
    """Queue the transition's notice to each webhook and email contact of the rule.

    An address nobody confirmed gets nothing; its line in the log says so.
    """
    now = now_ms()
    payload = notice_payload(
        rule=rule, event=event, state=state, reason=reason, value=value, message=message
    )
    rows = []
    for contact in rule_contacts(rule):
        if contact.kind not in SENT_BY_TRANSPORT:
            continue
        held = not event.notified
        unconfirmed = not held and not contact.confirmed
        rows.append(
            Delivery(
                contact=contact,
                rule=rule,
                event=event,
                state=state,
                reason=(
                    f"held back: {rule.name} fired again within "
                    f"{rule.min_interval_seconds} s of its last notice"
                    if held
                    else reason
                )[:300],
                payload=payload,
                status=(
                    DeliveryStatus.HELD
                    if held
                    else DeliveryStatus.FAILED
                    if unconfirmed
                    else DeliveryStatus.QUEUED
                ),
                last_error=UNCONFIRMED if unconfirmed else "",
                next_attempt=now,
                created=now,
                finished=now if held or unconfirmed else None,
            )
        )
    if rows:
        Delivery.objects.bulk_create(rows, ignore_conflicts=True)
        transaction.on_commit(deliveries_wake)


def contact_send_test(*, contact: ContactPoint) -> Delivery | None:
    """Queue a test notice to a webhook or email contact (None for a browser, which has no log)."""
    if contact.kind not in SENT_BY_TRANSPORT:
        return None
    now = now_ms()
    delivery = Delivery.objects.create(
        contact=contact,
        state="test",
        reason="“Send test” was pressed on the alerts page",
        payload=test_payload(contact),
        next_attempt=now,
        created=now,
    )
    transaction.on_commit(deliveries_wake)
    return delivery


# -- sending ----------------------------------------------------------------------


def webhook_send(contact: ContactPoint, delivery: Delivery) -> int:
    """POST the notice, signed, to the checked address of the contact's URL; return the status."""
    body = orjson.dumps(delivery.payload)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Pulseboard-Alerts",
        SIGNATURE_HEADER: signature(contact.secret, body),
        DELIVERY_HEADER: str(delivery.pk),
    }
    try:
        return webhook_post(contact.url, body, headers, SEND_TIMEOUT_SECONDS)
    except WebhookFailed as failure:
        raise DeliveryFailed(str(failure), status=failure.status, retry=failure.retry) from None


def confirmation_send(contact: ContactPoint, delivery: Delivery) -> None:
    """Mail a confirmation link to the address it was made for, if the contact still has it."""
    payload: dict[str, Any] = delivery.payload
    if payload.get("to") != contact.email:
        raise DeliveryFailed("not sent: the contact point has another address now", retry=False)
    try:
        send_mail(payload["subject"], payload["body"], settings.DEFAULT_FROM_EMAIL, [payload["to"]])
    except Exception as error:
        raise DeliveryFailed(str(error) or type(error).__name__) from None


def email_send(contact: ContactPoint, delivery: Delivery) -> None:
    if delivery.state == "confirm":
        confirmation_send(contact, delivery)
        return
    # Checked when sent too: the address may have changed since the notice was queued.
    if not contact.confirmed:
        raise DeliveryFailed(UNCONFIRMED, retry=False)
    payload: dict[str, Any] = delivery.payload
    subject = {
        "firing": "Alert firing",
        "resolved": "Resolved",
        "no data": "No data",
        "test": "Test notice",
    }.get(delivery.state, delivery.state)
    lines = [
        payload.get("message") or "",
        "",
        f"State: {delivery.state}",
        f"Why: {delivery.reason}",
    ]
    if payload.get("value") is not None:
        lines.append(f"Value: {payload['value']:g}")
    lines += ["", f"Open: {payload.get('dashboard', '')}"]
    name = (payload.get("rule") or {}).get("name") or contact.name
    try:
        send_mail(
            f"[Pulseboard] {subject}: {name}",
            "\n".join(lines),
            settings.DEFAULT_FROM_EMAIL,
            [contact.email],
        )
    except Exception as error:
        raise DeliveryFailed(str(error) or type(error).__name__) from None


def backoff_ms(attempts: int) -> int:
    """Return the wait after the `attempts`-th failure: 1 s, 2 s, 4 s … up to 5 minutes."""
    return int(min(FIRST_BACKOFF_MS * 2 ** (attempts - 1), MAX_BACKOFF_MS))


def delivery_claim(delivery_id: int, now: int) -> bool:
    """Take the row for this sender; False when another has it or it is done."""
    due = Q(status=DeliveryStatus.QUEUED, next_attempt__lte=now) | Q(
        status=DeliveryStatus.SENDING, claimed_until__lt=now
    )
    claimed = Delivery.objects.filter(due, pk=delivery_id).update(
        status=DeliveryStatus.SENDING, claimed_until=now + CLAIM_MS
    )
    return bool(claimed)


def delivery_attempt(delivery: Delivery, now: int) -> None:
    """Send once and record the outcome in the row."""
    contact = delivery.contact
    delivery.attempts += 1
    try:
        if contact.kind == ContactKind.WEBHOOK:
            delivery.response_status = webhook_send(contact, delivery)
        else:
            email_send(contact, delivery)
    except DeliveryFailed as failure:
        delivery.response_status = failure.status
        delivery.last_error = str(failure)[:300]
        if failure.retry and delivery.attempts < MAX_ATTEMPTS:
            delivery.status = DeliveryStatus.QUEUED
            delivery.next_attempt = now + backoff_ms(delivery.attempts)
        else:
            delivery.status, delivery.finished = DeliveryStatus.FAILED, now_ms()
    else:
        delivery.status, delivery.finished, delivery.last_error = DeliveryStatus.SENT, now_ms(), ""
    delivery.claimed_until = None
    delivery.save(
        update_fields=[
            "attempts",
            "status",
            "next_attempt",
            "finished",
            "response_status",
            "last_error",
            "claimed_until",
        ]
    )


def deliveries_send_due(now: int | None = None) -> int:
    """Send every notice that is due and first in line for its contact; return how many tried."""
    now = now_ms() if now is None else now
    unfinished = Delivery.objects.filter(
        status__in=[DeliveryStatus.QUEUED, DeliveryStatus.SENDING]
    ).order_by("contact_id", "id")
    first_per_contact: dict[int, int] = {}
    for delivery_id, contact_id in unfinished.values_list("id", "contact_id"):
        first_per_contact.setdefault(contact_id, delivery_id)
    tried = 0
    for delivery_id in sorted(first_per_contact.values()):
        if not delivery_claim(delivery_id, now):
            continue
        delivery = Delivery.objects.select_related("contact").get(pk=delivery_id)
        delivery_attempt(delivery, now)
        tried += 1
    return tried


class Sender(threading.Thread):
    """This process's sender: sends what is due whenever woken, and each second."""

    def __init__(self) -> None:
        super().__init__(name="alert-deliveries", daemon=True)
        self.wake = threading.Event()

    def run(self) -> None:
        try:
            while settings.PULSEBOARD_ALERT_SENDER:
                self.wake.wait(POLL_SECONDS)
                self.wake.clear()
                close_old_connections()
                try:
                    # Send until nothing more is due now (a contact's next notice follows at once).
                    while deliveries_send_due():
                        pass
                except Exception:
                    log.exception("sending alert notices failed; trying again in a second")
        finally:
            connections.close_all()  # this thread's own: nothing else would close it


_sender: Sender | None = None
_sender_lock = threading.Lock()


def deliveries_wake() -> None:
    """Have this process's sender look for due notices now (started on first use)."""
    global _sender
    if not settings.PULSEBOARD_ALERT_SENDER:
        return
    with _sender_lock:
        if _sender is None or not _sender.is_alive():
            _sender = Sender()
            _sender.start()
    _sender.wake.set()


def deliveries_sender_stop() -> None:
    """Stop this process's sender (once PULSEBOARD_ALERT_SENDER is off) and wait for it."""
    if _sender is not None:
        _sender.wake.set()
        _sender.join(timeout=10)
