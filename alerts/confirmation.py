"""Email addresses confirmed by their readers, and the hourly allowance of sends a user asks for.

An email contact point gets alert and test mail only once someone who reads the
address opened the link sent there (a signed token naming the contact point
and the address, valid for CONFIRM_MAX_AGE). "Send test" and confirmation
links are counted per user and hour, all contact points together, so a user
cannot turn the server into a mailer (or a webhook cannon) for text they choose.
"""

from __future__ import annotations

import hashlib
import math
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import signing
from django.db import transaction
from django.urls import reverse

from alerts.delivery import deliveries_wake
from alerts.models import ContactKind, ContactPoint, Delivery, ManualSend
from alerts.notices import site_url
from streams.clock import now_ms

SALT = "pulseboard.contact-confirm"
CONFIRM_MAX_AGE = 3 * 24 * 3600
HOUR_MS = 3_600_000
CONFIRM_REASON = "a confirmation link for a new address"


def address_digest(address: str) -> str:
    """Return a short digest of the address (the link must not carry the address itself)."""
    return hashlib.sha256(address.strip().lower().encode()).hexdigest()[:24]


def confirmation_token(contact: ContactPoint) -> str:
    """Return the signed token of a link that confirms the contact's current address."""
    return signing.dumps({"c": contact.pk, "a": address_digest(contact.email)}, salt=SALT)


def confirmation_read(token: str) -> tuple[ContactPoint | None, str]:
    """Return the contact point a link confirms, or None and what is wrong with the link."""
    try:
        data = signing.loads(token, salt=SALT, max_age=CONFIRM_MAX_AGE)
    except signing.SignatureExpired:
        return None, "This link has expired. Ask for a new one on the alerts page."
    except signing.BadSignature:
        return None, "This link is not a confirmation link of this site."
    contact = (
        ContactPoint.objects.select_related("owner")
        .filter(pk=data.get("c"), kind=ContactKind.EMAIL)
        .first()
    )
    if contact is None or address_digest(contact.email) != data.get("a"):
        return None, "This link is for an address the contact point no longer has."
    return contact, ""


def contact_confirm(*, contact: ContactPoint) -> None:
    """Mark the contact's current address as confirmed by its reader."""
    contact.confirmed_email = contact.email
    contact.save(update_fields=["confirmed_email"])


def manual_send_wait(owner: Any, contact: ContactPoint | None, kind: str) -> int:
    """Count one send the user asked for; return 0, or the seconds until the allowance has room."""
    limit = settings.PULSEBOARD_TEST_SENDS_PER_HOUR
    now = now_ms()
    with transaction.atomic():
        # One user's requests one after another, so two at once cannot both take the last one.
        get_user_model().objects.select_for_update().filter(pk=owner.pk).first()
        ManualSend.objects.filter(owner=owner, created__lte=now - HOUR_MS).delete()
        recent = list(
            ManualSend.objects.filter(owner=owner)
            .order_by("created")
            .values_list("created", flat=True)
        )
        if len(recent) >= limit:
            if not limit:
                return HOUR_MS // 1000
            # Room comes back when the oldest send that still counts is an hour old.
            return max(1, math.ceil((recent[-limit] + HOUR_MS - now) / 1000))
        ManualSend.objects.create(owner=owner, contact=contact, kind=kind, created=now)
    return 0


def confirmation_message(contact: ContactPoint) -> dict[str, str]:
    """Return the address, subject and body of a confirmation mail (of the user's text, their name only)."""
    link = site_url(reverse("contact-confirm", args=[confirmation_token(contact)]))
    days = CONFIRM_MAX_AGE // 86400
    body = (
        f"The Pulseboard user “{contact.owner.get_username()}” asked to send alert notices"
        f" to {contact.email}.\n\n"
        f"To accept, open this link within {days} days and press “Confirm”:\n{link}\n\n"
        "If you did not expect this, ignore this message: nothing more is sent to this"
        " address unless the link is opened.\n"
    )
    return {
        "to": contact.email,
        "subject": "[Pulseboard] Confirm alert mail to this address",
        "body": body,
    }


def confirmation_queue(*, contact: ContactPoint) -> bool:
    """Queue a confirmation link to the contact's address; False when the allowance is spent."""
    if manual_send_wait(contact.owner, contact, "confirm"):
        return False
    now = now_ms()
    Delivery.objects.create(
        contact=contact,
        state="confirm",
        reason=CONFIRM_REASON,
        payload=confirmation_message(contact),
        next_attempt=now,
        created=now,
    )
    contact.confirm_sent = now
    contact.save(update_fields=["confirm_sent"])
    transaction.on_commit(deliveries_wake)
    return True
