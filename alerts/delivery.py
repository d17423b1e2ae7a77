"""The outbox of alert notices: queued in the database, claimed, attempted, retried, logged.

A transition queues one `Delivery` row per webhook or email contact of its rule,
in the transaction that claimed the transition, so a notice exists exactly when
its transition does. Any process's sender may send it: it first claims the row
with a conditional UPDATE (status and a claim deadline), so two senders never
both send one. A failed attempt is retried with a growing backoff, a bounded
number of times; each contact gets its notices in order (a later one waits while
an earlier one is still being tried). The row is the log the user reads on the
alerts page. Nothing here runs in the producer's tick or in a request: they only
write rows and wake the senders (`alerts/sender.py`).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import orjson
from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Q

from alerts.models import (
    AlertEvent,
    AlertRule,
    ContactKind,
    ContactPoint,
    Delivery,
    DeliveryStatus,
)
from alerts.notices import (
    DELIVERY_HEADER,
    SIGNATURE_HEADER,
    TEST_REASON,
    email_text,
    notice_payload,
    signature,
    test_payload,
)
from alerts.webhooks import WebhookFailed, webhook_post
from streams.clock import now_ms

MAX_ATTEMPTS = 8
FIRST_BACKOFF_MS = 1000
MAX_BACKOFF_MS = 5 * 60 * 1000
# A sender that claimed a row and vanished (a crash) loses it to another after this.
CLAIM_MS = 60_000
SEND_TIMEOUT_SECONDS = 5.0
SENT_BY_TRANSPORT = (ContactKind.WEBHOOK, ContactKind.EMAIL)
UNCONFIRMED = "not sent: the address is not confirmed yet"
UNFINISHED = (DeliveryStatus.QUEUED, DeliveryStatus.SENDING)


class DeliveryFailed(Exception):
    def __init__(self, message: str, *, status: int | None = None, retry: bool = True):
        super().__init__(message)
        self.status, self.retry = status, retry


# -- waking the senders -----------------------------------------------------------

# The events this process's senders wait on; queueing a notice sets them after commit.
_wakers: set[threading.Event] = set()
_wakers_lock = threading.Lock()


def deliveries_waker_add(event: threading.Event) -> None:
    with _wakers_lock:
        _wakers.add(event)


def deliveries_waker_remove(event: threading.Event) -> None:
    with _wakers_lock:
        _wakers.discard(event)


def deliveries_wake() -> None:
    """Have this process's senders look for due notices now (others look each second)."""
    with _wakers_lock:
        for event in _wakers:
            event.set()


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
        reason=TEST_REASON,
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


def mail_send(subject: str, body: str, to: str) -> None:
    try:
        send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [to])
    except Exception as error:
        raise DeliveryFailed(str(error) or type(error).__name__) from None


def email_send(contact: ContactPoint, delivery: Delivery) -> None:
    payload: dict[str, Any] = delivery.payload
    if delivery.state == "confirm":
        # A confirmation link goes to the address it was made for, if the contact still has it.
        if payload.get("to") != contact.email:
            raise DeliveryFailed("not sent: the contact point has another address now", retry=False)
        mail_send(payload["subject"], payload["body"], payload["to"])
        return
    # Checked when sent too: the address may have changed since the notice was queued.
    if not contact.confirmed:
        raise DeliveryFailed(UNCONFIRMED, retry=False)
    subject, body = email_text(contact, delivery)
    mail_send(subject, body, contact.email)


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


@dataclass(frozen=True)
class Outcome:
    """What one attempt came to: sent, or the error for the log and whether to try again."""

    sent: bool
    status: int | None = None
    error: str = ""
    retry: bool = False


def delivery_send(delivery: Delivery) -> Outcome:
    """Send a claimed notice once, touching no database (a sending thread runs this)."""
    contact = delivery.contact
    try:
        if contact.kind == ContactKind.WEBHOOK:
            return Outcome(sent=True, status=webhook_send(contact, delivery))
        email_send(contact, delivery)
        return Outcome(sent=True)
    except DeliveryFailed as failure:
        return Outcome(False, failure.status, str(failure)[:300], failure.retry)


def delivery_record(delivery: Delivery, outcome: Outcome, now: int) -> None:
    """Write an attempt's outcome in the row: sent, queued again after a backoff, or failed."""
    delivery.attempts += 1
    delivery.response_status = outcome.status
    if outcome.sent:
        delivery.status, delivery.finished, delivery.last_error = DeliveryStatus.SENT, now_ms(), ""
    else:
        delivery.last_error = outcome.error
        if outcome.retry and delivery.attempts < MAX_ATTEMPTS:
            delivery.status = DeliveryStatus.QUEUED
            delivery.next_attempt = now + backoff_ms(delivery.attempts)
        else:
            delivery.status, delivery.finished = DeliveryStatus.FAILED, now_ms()
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


def delivery_attempt(delivery: Delivery, now: int) -> None:
    """Send a claimed notice once and record the outcome in the row."""
    delivery_record(delivery, delivery_send(delivery), now)


@dataclass(frozen=True)
class Next:
    """The first unfinished notice of one contact point: the only one of it that may go now."""

    delivery: int
    contact: int
    owner: int


def deliveries_next() -> list[Next]:
    """Return each contact's first unfinished notice, oldest first (due or not: the claim checks)."""
    unfinished = (
        Delivery.objects.filter(status__in=UNFINISHED)
        .order_by("contact_id", "id")
        .values_list("id", "contact_id", "contact__owner_id")
    )
    first: dict[int, Next] = {}
    for delivery_id, contact_id, owner_id in unfinished:
        first.setdefault(contact_id, Next(delivery_id, contact_id, owner_id))
    return sorted(first.values(), key=lambda item: item.delivery)


def delivery_claimed(delivery_id: int) -> Delivery:
    """Return a row this sender claimed, with its contact point, ready to attempt."""
    return Delivery.objects.select_related("contact").get(pk=delivery_id)


def deliveries_send_due(now: int | None = None) -> int:
    """Send, one after another in this thread, what is due and first in line; return how many tried."""
    now = now_ms() if now is None else now
    tried = 0
    for item in deliveries_next():
        if delivery_claim(item.delivery, now):
            delivery_attempt(delivery_claimed(item.delivery), now)
            tried += 1
    return tried
