"""Writes of alerting: rules (checked, and resolved when changed while open) and contact points."""

from __future__ import annotations

import math
from typing import Any
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction

from alerts.confirmation import confirmation_queue
from alerts.evaluation import rule_close
from alerts.models import (
    RULE_SETTINGS,
    AlertCondition,
    AlertRule,
    AlertState,
    ContactKind,
    ContactPoint,
    StopChoice,
)
from streams.access import stream_can_read
from streams.clock import now_ms
from streams.models import Stream, field_type
from streams.netguard import address_allowed

DEFAULT_PORTS = {"http": 80, "https": 443}
MAX_SECONDS = 86_400
SECONDS = ("duration_seconds", "no_data_seconds", "min_interval_seconds")
# Changing any of these makes it a different rule: its pending or firing state no longer applies.
RULE_IDENTITY = ("stream_id", "field", "condition", "threshold", "no_data_seconds")
CHANGED = "the rule was changed or turned off"


# -- rules --------------------------------------------------------------------------


def number_fields(stream: Stream) -> list[str]:
    """Return the names of the stream's number fields (what can be above or below a threshold)."""
    return [field["name"] for field in stream.fields if field_type(field) == "number"]


def rule_errors(rule: AlertRule, contacts: list[ContactPoint] | None = None) -> dict[str, str]:
    """Return setting → problem for a rule with these settings and contact points (empty: valid)."""
    errors: dict[str, str] = {}
    if not rule.name.strip():
        errors["name"] = "Give the rule a name."
    stream = rule.stream
    if not stream_can_read(stream, rule.owner):
        errors["stream"] = "You may not watch this stream."
    known = [item["name"] for item in stream.fields]
    above_or_below = rule.condition in (AlertCondition.ABOVE, AlertCondition.BELOW)
    if rule.condition not in AlertCondition.values:
        errors["condition"] = f"must be one of {', '.join(AlertCondition.values)}"
    if rule.field not in known:
        errors["field"] = (
            f"{stream.slug} has no field {rule.field!r} (it has {', '.join(known) or 'none'})"
        )
    elif above_or_below and rule.field not in number_fields(stream):
        errors["field"] = (
            f"{rule.field} is not a number, so it cannot be above or below a threshold"
        )
    if above_or_below:
        if rule.threshold is None:
            errors["threshold"] = "Above and below need a threshold."
        elif not math.isfinite(rule.threshold):
            errors["threshold"] = "must be a finite number"
    for name in SECONDS:
        if not 0 <= getattr(rule, name) <= MAX_SECONDS:
            errors[name] = f"must be from 0 to {MAX_SECONDS} seconds"
    if rule.condition == AlertCondition.NODATA and rule.no_data_seconds == 0:
        errors["no_data_seconds"] = "A “no data” rule needs the seconds of silence it waits for."
    if rule.on_stop not in StopChoice.values:
        errors["on_stop"] = f"must be one of {', '.join(StopChoice.values)}"
    if any(contact.owner_id != rule.owner.pk for contact in contacts or []):
        errors["contacts"] = "You may only choose your own contact points."
    return errors


@transaction.atomic
def alert_rule_save(*, rule: AlertRule, contacts: list[ContactPoint] | None = None) -> AlertRule:
    """Store a new or changed rule, its settings set on `rule`; raise ValidationError naming each bad one.

    `contacts`: the rule's contact points (None leaves a saved rule's as they are).
    A rule that is changed in what it watches, or turned off, while it is firing
    or in no data is resolved first: its receivers hear it end.
    """
    errors = rule_errors(rule, contacts)
    if errors:
        raise ValidationError(errors)
    rule.name = rule.name.strip()[:120]
    if rule.condition in (AlertCondition.ANOMALY, AlertCondition.NODATA):
        rule.threshold = None
    stored = (
        AlertRule.objects.filter(pk=rule.pk).values(*RULE_IDENTITY).first() if rule.pk else None
    )
    if stored is None:
        rule.state_since = now_ms()
        rule.save()
    elif any(stored[name] != getattr(rule, name) for name in RULE_IDENTITY) or not rule.enabled:
        # Receivers of the firing hear it end (the rule as it was, its contacts as they were).
        closed = rule_close(rule.pk, CHANGED)
        rule_settle(rule)
        rule.version = max(rule.version, closed or 0) + 1
        rule.save()
    else:
        # The state is the evaluators' to change; an edit of the wording leaves it be.
        rule.save(update_fields=RULE_SETTINGS)
    if contacts is not None:
        rule.contacts.set(contacts)
    return rule


def rule_settle(rule: AlertRule) -> None:
    """Resolve what the rule had open: a disabled or redefined rule would never resolve it."""
    now = now_ms()
    rule.events.filter(resolved__isnull=True).update(resolved=now, resolved_reason=CHANGED)
    rule.state, rule.state_since = AlertState.OK, now
    rule.pending_since = rule.clearing_since = None


def alert_rule_delete(*, rule: AlertRule) -> None:
    rule_close(rule.pk, "the rule was deleted")
    rule.delete()


# -- contact points -------------------------------------------------------------------


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
