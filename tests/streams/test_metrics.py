"""GET /metrics: Prometheus text that counts what happens."""

from __future__ import annotations

import os
import re
import socket
from typing import Any

import pytest
from django.test import Client

from streams.models import Stream
from tests.support.web import INGEST, logged_in, post_json, token_client

pytestmark = pytest.mark.django_db
# Ingested samples go through database_sync_to_async, which closes the connection of
# a test transaction: the test commits for real.
stores = pytest.mark.django_db(transaction=True)
PROCESS = f"{socket.gethostname()}:{os.getpid()}"


def metric(text: str, name: str, **labels: str) -> float:
    """Return the value of one series in Prometheus text, 0 when it is absent."""
    label_text = ",".join(f'{key}="{value}"' for key, value in sorted(labels.items()))
    series = f"{name}{{{label_text}}}" if labels else name
    for line in text.splitlines():
        if line.startswith(series + " "):
            return float(line.split()[-1])
    return 0.0


def test_metrics_are_prometheus_text_with_help_and_type(staff: Any) -> None:
    response = logged_in(staff).get("/metrics")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=0.0.4")
    text = response.content.decode()
    names = re.findall(r"^# HELP (\w+) \S", text, flags=re.M)
    assert "pulseboard_connections" in names and "pulseboard_errors_total" in names
    for name in names:
        assert re.search(rf"^# TYPE {name} (counter|gauge)$", text, flags=re.M), name
    for line in text.splitlines():
        if line and not line.startswith("#"):
            assert re.fullmatch(
                r'[a-z_]+(\{[a-z_]+="[^"]*"(,[a-z_]+="[^"]*")*\})? -?[\d.e+]+', line
            ), line


@stores
def test_metrics_count_what_happens(owner_token: str, push_stream: Stream, settings: Any) -> None:
    settings.PULSEBOARD_METRICS_TOKEN = "scrape-secret"
    scraper = Client(HTTP_AUTHORIZATION="Bearer scrape-secret")
    before = scraper.get("/metrics").content.decode()
    samples = [{"values": {"value": i}} for i in range(3)]
    post_json(token_client(owner_token), INGEST, {"samples": samples})
    after = scraper.get("/metrics").content.decode()
    published = "pulseboard_samples_published_total"
    series = {"process": PROCESS, "stream": "push.alice"}
    assert metric(after, published, **series) == metric(before, published, **series) + 3
