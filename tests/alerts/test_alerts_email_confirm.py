"""Email contact points: mail only to an address its reader confirmed, and tests limited per user and hour."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.core import mail
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test import Client, override_settings

from alerts import confirmation
from alerts.delivery import deliveries_send_due
from alerts.models import ContactPoint, Delivery, ManualSend
from alerts.services import contact_save
from streams.clock import now_ms
from streams.models import Stream
from tests.alerts.alert_helpers import T0, rule_save, temperature
from tests.support.web import logged_in

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}
LINK = re.compile(r"https?://[^\s/]+(/alerts/confirm/[^\s/]+/)")


@pytest.fixture(autouse=True)
def no_background_sender(settings: Any) -> None:
    settings.PULSEBOARD_ALERT_SENDER = False


def send_everything() -> None:
    while deliveries_send_due(now_ms()):
        pass


def add_address(client: Client, address: str, name: str = "Me") -> ContactPoint:
    response = client.post(
        "/alerts/contacts/new/",
        {"name": name, "kind": "email", "email": address, "enabled": "on"},
        **HTMX,
    )
    assert response.status_code == 200, response.content.decode()
    return ContactPoint.objects.get(name=name)


def link_in(message: Any) -> str:
    found = LINK.search(message.body)
    assert found is not None, message.body
    return found.group(1)


def confirm(link: str) -> Any:
    """Open the link as the address's reader would (not logged in), and press Confirm."""
    reader = Client()
    page = reader.get(link)
    assert page.status_code == 200 and 'id="confirm-button"' in page.content.decode()
    return reader.post(link)


def rule_to(owner: Any, stream: Stream, contact: ContactPoint) -> None:
    rule_save(
        owner,
        name="Too warm",
        stream=stream,
        field="temperature",
        condition="above",
        threshold=30.0,
        duration_seconds=0,
        enabled=True,
        contacts=[contact],
    )


def test_a_new_address_gets_a_link_and_no_alert_until_it_is_confirmed(
    owner: Any, stream: Stream
) -> None:
    client = logged_in(owner)
    contact = add_address(client, "oncall@example.com")
    rule_to(owner, stream, contact)
    temperature(stream, T0, 35)
    send_everything()
    [link_mail] = mail.outbox
    assert link_mail.to == ["oncall@example.com"]
    assert "alice" in link_mail.body and "Confirm" in link_mail.subject
    # The alert was not mailed; the log says why.
    fired = Delivery.objects.get(state="firing")
    assert (fired.status, fired.last_error) == (
        "failed",
        "not sent: the address is not confirmed yet",
    )
    page = client.get("/alerts/").content.decode()
    assert "unconfirmed" in page and "Resend link" in page
    assert "not sent: the address is not confirmed yet" in page

    done = confirm(link_in(link_mail))
    assert done.status_code == 200 and "Address confirmed" in done.content.decode()
    temperature(stream, T0 + 1_000, 25)
    temperature(stream, T0 + 301_000, 36)
    send_everything()
    assert [message.subject for message in mail.outbox[1:]] == [
        "[Pulseboard] Resolved: Too warm",
        "[Pulseboard] Alert firing: Too warm",
    ]
    assert all(message.to == ["oncall@example.com"] for message in mail.outbox)
    assert "unconfirmed" not in client.get("/alerts/").content.decode()


def test_send_test_waits_for_the_confirmation(owner: Any) -> None:
    client = logged_in(owner)
    contact = add_address(client, "oncall@example.com")
    response = client.post(f"/alerts/contacts/{contact.pk}/test/", **HTMX)
    assert response.status_code == 409
    assert "is not confirmed yet" in response.content.decode()
    assert not Delivery.objects.filter(state="test").exists()
    send_everything()
    assert [message.subject for message in mail.outbox] == [
        "[Pulseboard] Confirm alert mail to this address"
    ]


def test_a_changed_address_is_unconfirmed_and_the_old_link_is_void(owner: Any) -> None:
    client = logged_in(owner)
    contact = add_address(client, "first@example.com")
    send_everything()
    first_link = link_in(mail.outbox[0])
    confirm(first_link)
    contact.refresh_from_db()
    assert contact.confirmed
    response = client.post(
        f"/alerts/contacts/{contact.pk}/",
        {"name": "Me", "kind": "email", "email": "second@example.com", "enabled": "on"},
        **HTMX,
    )
    assert "confirmation link is on its way to second@example.com" in response.content.decode()
    contact.refresh_from_db()
    assert not contact.confirmed
    send_everything()
    assert mail.outbox[1].to == ["second@example.com"]
    stale = Client().get(first_link)
    assert stale.status_code == 404
    assert "no longer has" in stale.content.decode()
    contact.refresh_from_db()
    assert not contact.confirmed


def test_a_forged_or_expired_link_confirms_nothing(
    owner: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    contact = add_address(logged_in(owner), "oncall@example.com")
    send_everything()
    link = link_in(mail.outbox[0])
    forged = Client().post(link[:-3] + "xx/")
    assert forged.status_code == 404 and "not a confirmation link" in forged.content.decode()
    monkeypatch.setattr(confirmation, "CONFIRM_MAX_AGE", -1)
    expired = Client().post(link)
    assert expired.status_code == 404 and "expired" in expired.content.decode()
    contact.refresh_from_db()
    assert not contact.confirmed


def confirmed_address(owner: Any, address: str, name: str) -> ContactPoint:
    contact = contact_save(owner=owner, name=name, kind="email", email=address)
    confirmation.contact_confirm(contact=contact)
    return contact


@override_settings(PULSEBOARD_TEST_SENDS_PER_HOUR=10)
def test_send_test_is_limited_per_user_across_contact_points(owner: Any, outsider: Any) -> None:
    # Confirmed straight away here; their links are not what is counted below.
    first = confirmed_address(owner, "a@example.com", "A")
    second = confirmed_address(owner, "b@example.com", "B")
    ManualSend.objects.all().delete()
    Delivery.objects.all().delete()
    client = logged_in(owner)
    statuses = [
        client.post(f"/alerts/contacts/{contact.pk}/test/", **HTMX).status_code
        for contact in [first, second] * 15
    ]
    assert statuses == [200] * 10 + [429] * 20
    refused = client.post(f"/alerts/contacts/{first.pk}/test/", **HTMX).content.decode()
    assert "No test sent" in refused and "the most allowed" in refused
    assert "Try again in 60 minutes" in refused
    mail.outbox.clear()
    send_everything()
    assert len(mail.outbox) == 10
    # Deleting a contact point gives nothing back.
    first.delete()
    third = confirmed_address(owner, "c@example.com", "C")
    assert client.post(f"/alerts/contacts/{third.pk}/test/", **HTMX).status_code == 429
    # Another user has their own allowance.
    theirs = confirmed_address(outsider, "m@example.com", "M")
    assert (
        logged_in(outsider).post(f"/alerts/contacts/{theirs.pk}/test/", **HTMX).status_code == 200
    )


@override_settings(PULSEBOARD_TEST_SENDS_PER_HOUR=2)
def test_confirmation_links_count_in_the_same_allowance(owner: Any) -> None:
    client = logged_in(owner)
    contact = add_address(client, "oncall@example.com")
    resent = client.post(f"/alerts/contacts/{contact.pk}/resend/", **HTMX).content.decode()
    assert "new confirmation link is on its way" in resent
    refused = client.post(f"/alerts/contacts/{contact.pk}/resend/", **HTMX).content.decode()
    assert "No link sent" in refused
    send_everything()
    assert len(mail.outbox) == 2


def test_an_hour_later_the_allowance_is_back(owner: Any) -> None:
    with override_settings(PULSEBOARD_TEST_SENDS_PER_HOUR=1):
        contact = confirmed_address(owner, "a@example.com", "A")
        assert confirmation.manual_send_wait(owner, contact, "test") > 3500
        ManualSend.objects.update(created=now_ms() - 3_600_001)
        assert confirmation.manual_send_wait(owner, contact, "test") == 0


@pytest.mark.django_db(transaction=True)
def test_email_contact_points_from_before_stay_confirmed(owner: Any) -> None:
    before = [("dashboards", "0003_alter_widget_kind_widgetseries")]
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    old = executor.loader.project_state(before).apps.get_model("dashboards", "ContactPoint")
    old.objects.create(owner_id=owner.pk, name="Old", kind="email", email="old@example.com")
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())
    contact = ContactPoint.objects.get(name="Old")
    assert contact.confirmed and contact.confirmed_email == "old@example.com"
    # A new address of theirs is asked, like any other.
    contact_save(owner=owner, name="Old", kind="email", email="new@example.com", contact=contact)
    assert not ContactPoint.objects.get(name="Old").confirmed
