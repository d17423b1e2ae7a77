"""What a notice says: the webhook's JSON body, its signature, the email's text, the link back.

A notice links to where its owner looks at the stream. The alerts app knows only
its own page; an app with pages of streams (dashboards) registers a finder at
startup that names the owner's page showing the stream, as the data plane's
listeners are registered, so alerts never imports the app above it.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.urls import reverse

from alerts.models import AlertEvent, AlertRule, ContactPoint, Delivery
from streams.clock import now_ms

SIGNATURE_HEADER = "X-Pulseboard-Signature"
DELIVERY_HEADER = "X-Pulseboard-Delivery"
TEST_REASON = "“Send test” was pressed on the alerts page"
EMAIL_SUBJECTS = {
    "firing": "Alert firing",
    "resolved": "Resolved",
    "no data": "No data",
    "test": "Test notice",
}

# (owner id, stream id) → the path of a page of the owner's that shows the stream, or None.
PageFinder = Callable[[int, int], str | None]
_page_finders: list[PageFinder] = []


def notice_page_finder_add(finder: PageFinder) -> None:
    """Let notices link to the page `finder` names (registered once, at startup)."""
    if finder not in _page_finders:
        _page_finders.append(finder)


def site_url(path: str) -> str:
    return settings.PULSEBOARD_SITE_URL.rstrip("/") + path


def rule_link(rule: AlertRule) -> str:
    """Return the first registered page of the owner's that shows the rule's stream, or the alerts page."""
    for finder in _page_finders:
        path = finder(rule.owner_id, rule.stream_id)
        if path:
            return site_url(path)
    return site_url(reverse("alerts"))


def notice_payload(
    *,
    rule: AlertRule,
    event: AlertEvent,
    state: str,
    reason: str,
    value: float | None,
    message: str,
) -> dict[str, Any]:
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


def test_payload(contact: ContactPoint) -> dict[str, Any]:
    return {
        "state": "test",
        "reason": TEST_REASON,
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


def email_text(contact: ContactPoint, delivery: Delivery) -> tuple[str, str]:
    """Return the subject and body of a notice's mail: what happened, why, the value, where to look."""
    payload: dict[str, Any] = delivery.payload
    subject = EMAIL_SUBJECTS.get(delivery.state, delivery.state)
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
    return f"[Pulseboard] {subject}: {name}", "\n".join(lines)
