"""Writes and reads of contact points: where a user's alerts go besides the page."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db.models import QuerySet

from dashboards.confirmation import confirmation_queue
from dashboards.models import ContactKind, ContactPoint, Delivery
from streams.netguard import address_allowed

RECENT_DELIVERIES = 50
DEFAULT_PORTS = {"http": 80, "https": 443}


def webhook_url_error(url: str) -> str:
    """Return what is wrong with a webhook address ("" when nothing is)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "A webhook needs an http:// or https:// address."
    try:
        port = parts.port or DEFAULT_PORTS[parts.scheme]
    except ValueError:
        return "The port of this address is not a number from 1 to 65535."
    # Checked again before each send (a name can point elsewhere later); a name that
    # does not resolve today is left to that check, where it reads "could not connect".
    if address_allowed(parts.hostname, port).code == "private_address":
        return (
            "This address is on a private or local network, which webhooks may not reach"
            " (an operator can allow networks with PULSEBOARD_WEBHOOK_ALLOWED_NETWORKS)."
        )
    return ""


def contact_errors(*, name: str, kind: str, url: str, email: str) -> dict[str, str]:
    """Return field → problem for a contact point (empty when it is valid)."""
    errors: dict[str, str] = {}
    if not name.strip():
        errors["name"] = "Give the contact point a name."
    if kind not in ContactKind.values:
        errors["kind"] = f"must be one of {', '.join(ContactKind.values)}"
    if kind == ContactKind.WEBHOOK and (problem := webhook_url_error(url)):
        errors["url"] = problem
    if kind == ContactKind.EMAIL:
        try:
            validate_email(email)
        except ValidationError:
            errors["email"] = "Enter an email address."
    return errors


def contact_save(
    *,
    owner: Any,
    name: str,
    kind: str,
    url: str = "",
    email: str = "",
    enabled: bool = True,
    contact: ContactPoint | None = None,
) -> ContactPoint:
    """Create or change a contact point; raise ValidationError naming each bad field.

    A new or changed email address is sent a confirmation link when the owner's
    hourly allowance has room (`confirm_sent` is set when it was queued).
    """
    url, email = url.strip(), email.strip()
    errors = contact_errors(name=name, kind=kind, url=url, email=email)
    if errors:
        raise ValidationError(errors)
    if contact is None:
        contact = ContactPoint(owner=owner, secret=ContactPoint.new_secret())
    address_before = contact.email if contact.kind == ContactKind.EMAIL else ""
    contact.name, contact.kind, contact.enabled = name.strip()[:120], kind, enabled
    contact.url = url if kind == ContactKind.WEBHOOK else ""
    contact.email = email if kind == ContactKind.EMAIL else ""
    if contact.email != address_before:
        contact.confirm_sent = None
    contact.save()
    if contact.email != address_before and not contact.confirmed:
        confirmation_queue(contact=contact)
    return contact


def contact_new_secret(*, contact: ContactPoint) -> ContactPoint:
    """Replace a webhook's signing secret (when the old one may have leaked)."""
    contact.secret = ContactPoint.new_secret()
    contact.save(update_fields=["secret"])
    return contact


def contact_delete(*, contact: ContactPoint) -> None:
    contact.delete()


def contacts_of(user: Any) -> QuerySet[ContactPoint]:
    return ContactPoint.objects.filter(owner=user).order_by("name", "id")


def deliveries_of(user: Any, limit: int = RECENT_DELIVERIES) -> QuerySet[Delivery]:
    return (
        Delivery.objects.filter(contact__owner=user)
        .select_related("contact", "rule")
        .order_by("-id")[:limit]
    )
