"""Each button of the alerts page is announced by the words it shows (WCAG 2.5.3, label in name)."""

from __future__ import annotations

import html
import re
from typing import Any

import pytest
from django.test import Client

from alerts.models import AlertRule
from alerts.services import alert_rule_save, contact_save
from streams.models import Stream

pytestmark = pytest.mark.django_db

# A button with an aria-label and only text inside (icon buttons have no words to match).
LABELLED_BUTTON = re.compile(r'<button[^>]*\baria-label="([^"]*)"[^>]*>([^<]+)</button>')


def test_every_labelled_button_starts_with_what_it_shows(
    owner: Any, private_stream: Stream, settings: Any
) -> None:
    settings.PULSEBOARD_ALERT_SENDER = False
    settings.PULSEBOARD_WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    contact_save(owner=owner, name="On-call", kind="webhook", url="http://127.0.0.1:9/h")
    alert_rule_save(
        rule=AlertRule(
            owner=owner,
            name="Too warm",
            stream=private_stream,
            field="temperature",
            condition="above",
            threshold=30.0,
        )
    )
    client = Client()
    client.force_login(owner)
    content = client.get("/alerts/").content.decode()
    buttons = [
        (html.unescape(label), html.unescape(text).strip())
        for label, text in LABELLED_BUTTON.findall(content)
    ]
    assert ("Send test to On-call", "Send test") in buttons
    mismatched = [(label, text) for label, text in buttons if not label.startswith(text)]
    assert mismatched == []
