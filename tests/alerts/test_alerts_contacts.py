"""The alerts page: contact points per user, chosen per rule, with a test button and a delivery log."""

from __future__ import annotations

from typing import Any

import pytest

from alerts.models import AlertRule, ContactPoint, Delivery
from alerts.services import contact_save
from tests.support.web import logged_in

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture(autouse=True)
def no_background_sender(settings: Any) -> None:
    settings.PULSEBOARD_ALERT_SENDER = False


@pytest.fixture(autouse=True)
def loopback_receivers(settings: Any) -> None:
    """Receivers here listen on loopback, which the operator must allow (the loopback demo does)."""
    settings.PULSEBOARD_WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.0/8", "::1/128"]


@pytest.fixture
def hook(owner: Any) -> ContactPoint:
    return contact_save(owner=owner, name="On-call", kind="webhook", url="http://127.0.0.1:9/h")


@pytest.fixture
def mallorys_hook(outsider: Any) -> ContactPoint:
    return contact_save(
        owner=outsider, name="Mallory's", kind="webhook", url="http://127.0.0.1:9/m"
    )


def test_adding_a_webhook_gives_it_a_secret(owner: Any) -> None:
    response = logged_in(owner).post(
        "/alerts/contacts/new/",
        {"name": "Ops", "kind": "webhook", "url": "https://93.184.215.14/hook", "enabled": "on"},
        **HTMX,
    )
    assert response.status_code == 200
    contact = ContactPoint.objects.get()
    assert (contact.owner, contact.kind, contact.url) == (
        owner,
        "webhook",
        "https://93.184.215.14/hook",
    )
    assert len(contact.secret) == 64
    assert contact.secret in response.content.decode()


@pytest.mark.parametrize(
    "data,place,message",
    [
        ({"kind": "webhook", "url": "ftp://x"}, "url", "http:// or https://"),
        ({"kind": "email", "email": "not-an-address"}, "email", "Enter an email address."),
        ({"kind": "pigeon"}, "kind", "Select a valid choice."),
        (
            {"kind": "email", "email": "a@example.com", "name": ""},
            "name",
            "This field is required.",
        ),
    ],
)
def test_a_bad_contact_point_shows_its_error_and_is_not_saved(
    owner: Any, data: dict[str, str], place: str, message: str
) -> None:
    response = logged_in(owner).post("/alerts/contacts/new/", {"name": "X"} | data, **HTMX)
    assert response.status_code == 422
    content = response.content.decode()
    assert f'id="error-contact-{place}"' in content and message in content
    assert not ContactPoint.objects.exists()


def test_it_rejects_other_users_contact_points(owner: Any, mallorys_hook: ContactPoint) -> None:
    client = logged_in(owner)
    assert client.get(f"/alerts/contacts/{mallorys_hook.pk}/", **HTMX).status_code == 404
    assert client.post(f"/alerts/contacts/{mallorys_hook.pk}/test/", **HTMX).status_code == 404
    assert client.post(f"/alerts/contacts/{mallorys_hook.pk}/delete/", **HTMX).status_code == 404
    assert ContactPoint.objects.filter(pk=mallorys_hook.pk).exists()
    assert not Delivery.objects.exists()


def test_send_test_queues_a_notice_that_shows_in_the_log(owner: Any, hook: ContactPoint) -> None:
    response = logged_in(owner).post(f"/alerts/contacts/{hook.pk}/test/", **HTMX)
    assert response.status_code == 200
    delivery = Delivery.objects.get()
    assert (delivery.contact, delivery.state, delivery.status) == (hook, "test", "queued")
    content = response.content.decode()
    assert f'data-delivery-id="{delivery.pk}"' in content and "Send test" in content


def test_a_rule_sends_to_the_contact_points_chosen(
    owner: Any, private_stream: Any, hook: ContactPoint
) -> None:
    response = logged_in(owner).post(
        "/alerts/new/",
        {
            "name": "Hot",
            "stream": "sensors.alice",
            "field": "temperature",
            "condition": "above",
            "threshold": "28",
            "duration_seconds": "10",
            "no_data_seconds": "30",
            "on_stop": "resolve",
            "min_interval_seconds": "120",
            "contacts": [str(hook.pk)],
            "enabled": "on",
        },
        **HTMX,
    )
    assert response.status_code == 200
    rule = AlertRule.objects.get()
    assert list(rule.contacts.all()) == [hook]
    assert (rule.no_data_seconds, rule.on_stop, rule.min_interval_seconds) == (30, "resolve", 120)


def test_a_rule_cannot_send_to_someone_elses_contact_point(
    owner: Any, private_stream: Any, mallorys_hook: ContactPoint
) -> None:
    response = logged_in(owner).post(
        "/alerts/new/",
        {
            "name": "Hot",
            "stream": "sensors.alice",
            "field": "temperature",
            "condition": "above",
            "threshold": "28",
            "duration_seconds": "0",
            "contacts": [str(mallorys_hook.pk)],
        },
        **HTMX,
    )
    assert response.status_code == 422
    assert not AlertRule.objects.exists()


def test_a_no_data_rule_needs_its_seconds(owner: Any, private_stream: Any) -> None:
    response = logged_in(owner).post(
        "/alerts/new/",
        {
            "name": "Quiet",
            "stream": "sensors.alice",
            "field": "temperature",
            "condition": "nodata",
            "duration_seconds": "0",
        },
        **HTMX,
    )
    assert response.status_code == 422
    assert "needs the seconds of silence" in response.content.decode()


def test_the_alerts_page_shows_contact_points_and_the_delivery_log(
    owner: Any, hook: ContactPoint
) -> None:
    logged_in(owner).post(f"/alerts/contacts/{hook.pk}/test/", **HTMX)
    content = logged_in(owner).get("/alerts/").content.decode()
    assert f'data-contact-id="{hook.pk}"' in content
    assert 'id="deliveries-table"' in content and "http://127.0.0.1:9/h" in content
