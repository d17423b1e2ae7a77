"""The broker pages: connect, edit, route, delete — only one's own, only to allowed addresses."""

from __future__ import annotations

import socket
from typing import Any

import pytest
from django.test import Client

from devices.models import Broker, Route
from streams.models import Stream
from tests.support.factories import make_stream

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice(client: Client, owner: Any) -> Client:
    client.force_login(owner)
    return client


@pytest.fixture
def home(owner: Any, push_stream: Stream) -> Broker:
    broker = Broker.objects.create(
        owner=owner, name="Home", url="mqtt://8.8.8.8:1883", password="s3cret-pass"
    )
    Route.objects.create(broker=broker, topic="home/+/value", stream=push_stream)
    return broker


def broker_post(client: Client, page: str, **fields: Any) -> Any:
    data = {"name": "Home", "url": "mqtt://8.8.8.8:1883", "payload_format": "auto"}
    data.update(ha_prefix="homeassistant", enabled="on", **fields)
    return client.post(page, data)


def test_it_connects_a_broker_and_shows_its_page(alice: Client, owner: Any) -> None:
    response = broker_post(alice, "/devices/new/", username="pi", password="pw")
    broker = Broker.objects.get(owner=owner)
    assert response.status_code == 302 and response["Location"] == f"/devices/{broker.pk}/"
    assert (broker.username, broker.password) == ("pi", "pw")
    page = alice.get(f"/devices/{broker.pk}/").content.decode()
    assert "pulseboard-broker-" in page and "No routes" in page


def test_it_refuses_a_broker_inside_the_servers_network(alice: Client, owner: Any) -> None:
    response = broker_post(alice, "/devices/new/", url="mqtt://127.0.0.1:1883")
    assert response.status_code == 400
    assert "inside this server&#x27;s network" in response.content.decode()
    assert not Broker.objects.exists()


def test_a_name_is_checked_by_every_address_it_resolves_to(
    alice: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    def resolve(host: str, port: int, *args: Any, **kwargs: Any) -> list[Any]:
        assert host == "broker.example"
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.1.2.3", port))]

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    response = broker_post(alice, "/devices/new/", url="mqtt://broker.example")
    assert response.status_code == 400
    assert not Broker.objects.exists()


def test_the_operator_may_allow_a_local_broker(alice: Client, settings: Any) -> None:
    settings.PULSEBOARD_WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    assert broker_post(alice, "/devices/new/", url="mqtt://127.0.0.1:1883").status_code == 302


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("http://8.8.8.8", "mqtt://host:port"),
        ("mqtts://8.8.8.8", "TLS is not supported"),
        ("mqtt://8.8.8.8:99999", "port"),
        ("mqtt://user:pw@8.8.8.8", "fields of their own"),
    ],
)
def test_a_bad_address_is_named(alice: Client, url: str, problem: str) -> None:
    response = broker_post(alice, "/devices/new/", url=url)
    assert response.status_code == 400
    assert problem in response.content.decode()


def test_the_password_is_never_shown_and_kept_when_left_empty(alice: Client, home: Broker) -> None:
    assert "s3cret-pass" not in alice.get(f"/devices/{home.pk}/").content.decode()
    assert broker_post(alice, f"/devices/{home.pk}/", name="Home 2").status_code == 302
    home.refresh_from_db()
    assert (home.name, home.password) == ("Home 2", "s3cret-pass")


def test_the_list_shows_each_broker_with_its_routes_and_counts(alice: Client, home: Broker) -> None:
    Broker.objects.filter(pk=home.pk).update(
        messages=12, bad_payloads=2, last_error="home/x/value: values.value must be a number"
    )
    page = alice.get("/devices/").content.decode()
    assert "home/+/value" in page and "push.alice" in page
    assert 'data-count="messages">12<' in page and 'data-count="bad-payloads">2<' in page
    assert "values.value must be a number" in page


def test_it_adds_and_removes_a_route(alice: Client, home: Broker, push_stream: Stream) -> None:
    response = alice.post(
        f"/devices/{home.pk}/routes/",
        {"topic": "garden/pond/level", "stream": push_stream.slug, "field": "value"},
    )
    assert response.status_code == 302
    route = Route.objects.get(broker=home, topic="garden/pond/level")
    alice.post(f"/devices/{home.pk}/routes/{route.pk}/delete/")
    assert not Route.objects.filter(pk=route.pk).exists()


@pytest.mark.parametrize(
    ("topic", "field", "problem"),
    [
        ("home/#/x", "value", "# stands alone"),
        ("home/a+/x", "value", "+ stands alone"),
        ("home/+/value", "value", "a route for that topic already"),
        ("garden/x", "humidity", "has no field"),
    ],
)
def test_a_bad_route_is_refused_with_a_reason(
    alice: Client, home: Broker, push_stream: Stream, topic: str, field: str, problem: str
) -> None:
    response = alice.post(
        f"/devices/{home.pk}/routes/", {"topic": topic, "stream": push_stream.slug, "field": field}
    )
    assert response.status_code == 400
    assert problem in response.content.decode()


def test_only_ones_own_push_streams_are_offered(
    alice: Client, home: Broker, outsider: Any, private_stream: Stream
) -> None:
    make_stream("push.mallory", title="M", owner=outsider)
    response = alice.post(
        f"/devices/{home.pk}/routes/", {"topic": "x", "stream": "push.mallory", "field": "value"}
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "push.mallory" not in page.split('id="route-form"')[1].split("</select>")[0]
    assert private_stream.slug not in page.split('id="route-form"')[1].split("</select>")[0]


def test_another_users_broker_is_not_found(client: Client, home: Broker, outsider: Any) -> None:
    client.force_login(outsider)
    assert client.get(f"/devices/{home.pk}/").status_code == 404
    assert client.post(f"/devices/{home.pk}/delete/").status_code == 404
    assert Broker.objects.filter(pk=home.pk).exists()


def test_deleting_a_broker_keeps_its_streams(
    alice: Client, home: Broker, push_stream: Stream
) -> None:
    assert alice.post(f"/devices/{home.pk}/delete/")["Location"] == "/devices/"
    assert not Broker.objects.exists()
    assert Stream.objects.filter(pk=push_stream.pk).exists()


def test_the_pages_need_a_login(client: Client) -> None:
    assert client.get("/devices/").status_code == 302
