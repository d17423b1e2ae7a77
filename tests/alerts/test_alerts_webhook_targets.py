"""Webhooks cannot be aimed inward: loopback only where the operator allows it, no redirects, one word for every failure.

Every receiver here listens on loopback (127.0.0.1, 127.0.0.2 as "another
address", ::1); private, link-local and multicast addresses are only ever
judged (tests/streams/test_netguard.py), never connected to.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from django.test import override_settings

from alerts import delivery
from alerts.delivery import contact_send_test, deliveries_send_due
from alerts.models import ContactPoint, Delivery
from alerts.services import contact_save
from streams.clock import now_ms
from tests.alerts.alert_helpers import Received, Receiver
from tests.support.web import logged_in

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]
LOOPBACK = ["127.0.0.0/8", "::1/128"]
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture(autouse=True)
def no_background_sender(settings: Any) -> None:
    settings.PULSEBOARD_ALERT_SENDER = False


class HostReceiver(Receiver):
    """A receiver on a chosen loopback address that can also answer with a redirect."""

    def __init__(self, host: str = "127.0.0.1", location: str = "") -> None:
        super().__init__()
        self.host, self.location = host, location

    @property
    def url(self) -> str:
        assert self.server is not None
        port = self.server.server_address[1]
        return f"http://{f'[{self.host}]' if ':' in self.host else self.host}:{port}/hook"

    def start(self) -> HostReceiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.record(self.rfile.read(int(self.headers.get("Content-Length", 0))))

            def do_GET(self) -> None:
                self.record(b"")

            def record(self, body: bytes) -> None:
                with receiver.arrived:
                    receiver.received.append(Received(dict(self.headers.items()), body))
                    receiver.arrived.notify_all()
                self.send_response(302 if receiver.location else 200)
                if receiver.location:
                    self.send_header("Location", receiver.location)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        class Server(ThreadingHTTPServer):
            address_family = socket.AF_INET6 if ":" in self.host else socket.AF_INET

        self.server = Server((self.host, 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self


@pytest.fixture
def serve() -> Iterator[Any]:
    started: list[HostReceiver] = []

    def start(host: str = "127.0.0.1", location: str = "") -> HostReceiver:
        receiver = HostReceiver(host, location).start()
        started.append(receiver)
        return receiver

    yield start
    for receiver in started:
        receiver.stop()


def hook_to(owner: Any, url: str) -> ContactPoint:
    """Return a webhook contact point to `url`, as saved while loopback was allowed."""
    with override_settings(PULSEBOARD_WEBHOOK_ALLOWED_NETWORKS=LOOPBACK):
        return contact_save(owner=owner, name="Hook", kind="webhook", url=url)


def send_test_to(contact: ContactPoint) -> Delivery:
    """Queue a test to the contact, send it once, and return its log line."""
    queued = contact_send_test(contact=contact)
    assert queued is not None
    deliveries_send_due(now_ms())
    return Delivery.objects.get(pk=queued.pk)


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1"])
def test_a_loopback_receiver_is_refused_when_no_network_is_allowed(
    owner: Any, serve: Any, host: str
) -> None:
    receiver = serve(host)
    hook = hook_to(owner, receiver.url)
    with override_settings(PULSEBOARD_WEBHOOK_ALLOWED_NETWORKS=[]):
        line = send_test_to(hook)
    assert receiver.received == []
    assert (line.status, line.last_error, line.attempts) == (
        "failed",
        "refused: private address",
        1,
    )
    assert line.response_status is None


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1"])
def test_a_loopback_receiver_gets_the_notice_where_loopback_is_allowed(
    owner: Any, serve: Any, host: str
) -> None:
    receiver = serve(host)
    hook = hook_to(owner, receiver.url)
    with override_settings(PULSEBOARD_WEBHOOK_ALLOWED_NETWORKS=LOOPBACK):
        line = send_test_to(hook)
    assert [request.json["state"] for request in receiver.received] == ["test"]
    assert (line.status, line.response_status) == ("sent", 200)


def test_only_the_networks_named_are_allowed(owner: Any, serve: Any) -> None:
    one, another = serve("127.0.0.1"), serve("127.0.0.2")
    with override_settings(PULSEBOARD_WEBHOOK_ALLOWED_NETWORKS=["127.0.0.1/32"]):
        sent = send_test_to(hook_to(owner, one.url))
        refused = send_test_to(hook_to(owner, another.url))
    assert (sent.status, refused.status, refused.last_error) == (
        "sent",
        "failed",
        "refused: private address",
    )
    assert len(one.received) == 1 and another.received == []


def test_a_name_is_resolved_once_and_named_in_the_host_header(
    owner: Any, serve: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    receiver = serve("127.0.0.1")
    port = receiver.url.rsplit(":", 1)[1].split("/")[0]
    hook = hook_to(owner, f"http://localhost:{port}/hook")
    lookups: list[str] = []
    real = socket.getaddrinfo

    def counted(host: Any, *args: Any, **kwargs: Any) -> Any:
        lookups.append(host)
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", counted)
    with override_settings(PULSEBOARD_WEBHOOK_ALLOWED_NETWORKS=LOOPBACK):
        line = send_test_to(hook)
    assert line.status == "sent"
    # The address that was checked is the one connected to: no second lookup to race.
    assert lookups == ["localhost"]
    assert receiver.received[0].headers["Host"] == f"localhost:{port}"


def test_a_redirect_is_not_followed_and_the_log_shows_its_status(owner: Any, serve: Any) -> None:
    target = serve("127.0.0.1")
    redirecting = serve("127.0.0.1", location=target.url)
    with override_settings(PULSEBOARD_WEBHOOK_ALLOWED_NETWORKS=LOOPBACK):
        line = send_test_to(hook_to(owner, redirecting.url))
        deliveries_send_due(now_ms() + 10 * 60_000)
    assert len(redirecting.received) == 1
    assert target.received == []
    line.refresh_from_db()
    assert (line.status, line.response_status, line.last_error, line.attempts) == (
        "failed",
        302,
        "HTTP 302",
        1,
    )


def closed_port() -> int:
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    return port


@pytest.fixture
def odd_servers() -> Iterator[dict[str, int]]:
    """Loopback ports that answer without HTTP: a banner, a hang-up, and silence."""
    listeners: dict[str, socket.socket] = {}
    stop = threading.Event()

    def serve(name: str, answer: bytes | None, hold: bool = False) -> None:
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        listener.settimeout(0.2)
        listeners[name] = listener

        def loop() -> None:
            held = []
            while not stop.is_set():
                try:
                    connection, _ = listener.accept()
                except OSError:
                    continue
                if answer is not None:
                    connection.sendall(answer)
                if hold:
                    held.append(connection)
                else:
                    connection.close()
            for connection in held:
                connection.close()

        threading.Thread(target=loop, daemon=True).start()

    serve("banner", b"SSH-2.0-OpenSSH_9.6\r\n")
    serve("hang-up", None)
    serve("silent", None, hold=True)
    yield {name: listener.getsockname()[1] for name, listener in listeners.items()}
    stop.set()
    for listener in listeners.values():
        listener.close()


def test_every_failure_to_connect_reads_the_same(
    owner: Any, serve: Any, odd_servers: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    # A short wait for the silent port, so the test does not sit out the 5 s one.
    monkeypatch.setattr(delivery, "SEND_TIMEOUT_SECONDS", 0.5)
    plain_http = serve("127.0.0.1")
    urls = {
        "closed": f"http://127.0.0.1:{closed_port()}/hook",
        "banner": f"http://127.0.0.1:{odd_servers['banner']}/hook",
        "hang-up": f"http://127.0.0.1:{odd_servers['hang-up']}/hook",
        "silent": f"http://127.0.0.1:{odd_servers['silent']}/hook",
        "tls to plain HTTP": plain_http.url.replace("http://", "https://"),
    }
    with override_settings(PULSEBOARD_WEBHOOK_ALLOWED_NETWORKS=LOOPBACK):
        errors = {name: send_test_to(hook_to(owner, url)).last_error for name, url in urls.items()}
    assert errors == dict.fromkeys(urls, "could not connect")
    assert set(Delivery.objects.values_list("response_status", flat=True)) == {None}


def test_the_form_refuses_a_private_address_with_a_clear_error(owner: Any) -> None:
    client = logged_in(owner)
    with override_settings(PULSEBOARD_WEBHOOK_ALLOWED_NETWORKS=[]):
        for url in ("http://127.0.0.1:8000/admin/", "http://[::1]/", "http://localhost:6379/"):
            response = client.post(
                "/alerts/contacts/new/", {"name": "In", "kind": "webhook", "url": url}, **HTMX
            )
            assert response.status_code == 422
            content = response.content.decode()
            assert 'id="error-contact-url"' in content
            assert "private or local network" in content
    assert not ContactPoint.objects.exists()
    with override_settings(PULSEBOARD_WEBHOOK_ALLOWED_NETWORKS=LOOPBACK):
        response = client.post(
            "/alerts/contacts/new/",
            {"name": "Local", "kind": "webhook", "url": "http://127.0.0.1:8000/hook"},
            **HTMX,
        )
    assert response.status_code == 200 and ContactPoint.objects.count() == 1


def allowed_networks_of(**env: str) -> str:
    """Return the setting as a process started with `env` reads it (or its error)."""
    code = "from django.conf import settings; print(settings.PULSEBOARD_WEBHOOK_ALLOWED_NETWORKS)"
    names = ("HOST", "PULSEBOARD_DEMO", "PULSEBOARD_WEBHOOK_ALLOWED_NETWORKS")
    clean = {name: value for name, value in os.environ.items() if name not in names}
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    if result.returncode:
        return result.stderr[-300:]
    return result.stdout.strip().splitlines()[-1]


def test_the_loopback_demo_allows_loopback_and_nothing_else_does_by_default() -> None:
    assert (
        allowed_networks_of(PULSEBOARD_DEMO="1", HOST="127.0.0.1") == "['127.0.0.0/8', '::1/128']"
    )
    assert allowed_networks_of(PULSEBOARD_DEMO="1", HOST="0.0.0.0") == "[]"
    assert allowed_networks_of() == "[]"
    assert allowed_networks_of(PULSEBOARD_WEBHOOK_ALLOWED_NETWORKS="10.0.0.0/8, fd00::/8") == (
        "['10.0.0.0/8', 'fd00::/8']"
    )
    assert "PULSEBOARD_WEBHOOK_ALLOWED_NETWORKS" in allowed_networks_of(
        PULSEBOARD_WEBHOOK_ALLOWED_NETWORKS="10.0.0.0/33"
    )
