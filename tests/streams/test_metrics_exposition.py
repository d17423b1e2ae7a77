"""/metrics as a Prometheus scraper reads it (prometheus_client's parser), and who may read it."""

from __future__ import annotations

import os
import socket
from typing import Any

import pytest
from django.test import Client
from prometheus_client.parser import text_string_to_metric_families

from streams.metrics import metric_inc, metric_value
from streams.models import ApiToken

pytestmark = pytest.mark.django_db

SECRET = "a-scrape-secret-nobody-guesses"
PROCESS = f"{socket.gethostname()}:{os.getpid()}"


def logged_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def token_client(user: Any) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Token {ApiToken.objects.issue(user=user)[1]}")


def scraped(client: Client) -> dict[str, Any]:
    response = client.get("/metrics")
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain; version=0.0.4")
    return {
        family.name: family for family in text_string_to_metric_families(response.content.decode())
    }


def value(families: dict[str, Any], name: str, **labels: str) -> float:
    family_name = name.removesuffix("_total")
    for sample in families[family_name].samples:
        if sample.name == name and labels.items() <= sample.labels.items():
            return float(sample.value)
    raise AssertionError(f"no sample {name} {labels}")


# -- who may scrape ------------------------------------------------------------------


def test_it_refuses_anonymous_scrapes() -> None:
    response = Client().get("/metrics")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthenticated"
    assert b"pulseboard_" not in response.content


def test_it_refuses_users_who_are_not_staff(owner: Any) -> None:
    for client in (logged_in(owner), token_client(owner)):
        response = client.get("/metrics")
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "forbidden"


def test_it_refuses_a_wrong_secret_and_any_secret_when_none_is_set(settings: Any) -> None:
    client = Client(HTTP_AUTHORIZATION=f"Bearer {SECRET}")
    settings.PULSEBOARD_METRICS_TOKEN = ""
    assert client.get("/metrics").status_code == 401
    settings.PULSEBOARD_METRICS_TOKEN = SECRET + "-other"
    assert client.get("/metrics").status_code == 401


def test_staff_and_the_configured_scraper_may_scrape(staff: Any, settings: Any) -> None:
    settings.PULSEBOARD_METRICS_TOKEN = SECRET
    for client in (
        logged_in(staff),
        token_client(staff),
        Client(HTTP_AUTHORIZATION=f"Bearer {SECRET}"),
    ):
        assert "pulseboard_connections" in scraped(client)


# -- what a scraper reads ------------------------------------------------------------


def test_a_counter_past_a_million_keeps_every_digit(staff: Any) -> None:
    metric_inc("pulseboard_samples_published_total", 1_234_567, stream="count.big")
    metric_inc("pulseboard_samples_published_total", 89, stream="count.big")
    families = scraped(logged_in(staff))
    exact = metric_value("pulseboard_samples_published_total", stream="count.big")
    assert exact >= 1_234_656
    assert value(families, "pulseboard_samples_published_total", stream="count.big") == exact
    assert families["pulseboard_samples_published"].type == "counter"


def test_the_process_metrics_are_there(staff: Any) -> None:
    families = scraped(logged_in(staff))
    assert value(families, "process_cpu_seconds_total") >= 0
    assert value(families, "process_resident_memory_bytes") > 1_000_000
    assert value(families, "process_open_fds") > 0


def test_every_series_names_the_process_it_came_from(staff: Any) -> None:
    families = scraped(logged_in(staff))
    samples = [sample for family in families.values() for sample in family.samples]
    assert samples
    assert {sample.labels.get("process") for sample in samples} == {PROCESS}
