"""The sender sends side by side: one user's dead receivers do not hold another's notice; a contact's notices stay in order."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from itertools import pairwise
from typing import Any

import pytest

from alerts.models import ContactPoint, Delivery
from alerts.sender import OWNER_THREADS, Sender
from alerts.services import contact_save
from streams.models import SourceKind, Stream
from tests.alerts.alert_helpers import T0, Received, Receiver, rule_save, temperature
from tests.support.factories import make_stream

pytestmark = pytest.mark.django_db(transaction=True)
DEAD_HOOKS = 6


@pytest.fixture(autouse=True)
def loopback_receivers(settings: Any) -> None:
    settings.PULSEBOARD_WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.0/8"]


@dataclass
class DeadReceiver:
    """A listener on 127.0.0.1 that accepts every connection and never answers."""

    sock: socket.socket = field(default_factory=socket.socket)
    accepted: list[socket.socket] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}/hook"

    def start(self) -> DeadReceiver:
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        threading.Thread(target=self.accept, daemon=True).start()
        return self

    def accept(self) -> None:
        while True:
            try:
                self.accepted.append(self.sock.accept()[0])
            except OSError:
                return

    def stop(self) -> None:
        self.sock.close()
        for connection in self.accepted:
            connection.close()


@pytest.fixture
def dead() -> Iterator[DeadReceiver]:
    receiver = DeadReceiver().start()
    yield receiver
    receiver.stop()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    receiver = Receiver().start()
    yield receiver
    receiver.stop()


@pytest.fixture
def sender() -> Iterator[Sender]:
    """A sender of this process, started by `run` and stopped after the test."""
    sender = Sender()
    yield sender
    sender.stop()
    sender.finish(10)


def running_stream(user: Any, slug: str) -> Stream:
    return make_stream(
        slug,
        kind=SourceKind.SENSOR,
        fields=[{"name": "temperature", "unit": "°C"}],
        owner=user,
        running=True,
    )


def rule_to(user: Any, stream: Stream, contacts: list[ContactPoint]) -> None:
    rule_save(
        user,
        name="Too warm",
        stream=stream,
        field="temperature",
        condition="above",
        threshold=30.0,
        min_interval_seconds=0,
        contacts=contacts,
    )


def run(sender: Sender) -> None:
    threading.Thread(target=sender.run, daemon=True).start()


def test_one_users_dead_webhooks_do_not_delay_another_users_notice(
    owner: Any, outsider: Any, sender: Sender, dead: DeadReceiver, receiver: Receiver
) -> None:
    hooks = [
        contact_save(owner=owner, name=f"Dead {n}", kind="webhook", url=dead.url)
        for n in range(DEAD_HOOKS)
    ]
    rule_to(owner, running_stream(owner, "sensors.alice"), hooks)
    temperature(Stream.objects.get(slug="sensors.alice"), T0, 35)
    # The other user's notice is queued after the six: oldest first, it is last in line.
    hook = contact_save(owner=outsider, name="Alive", kind="webhook", url=receiver.url)
    rule_to(outsider, running_stream(outsider, "sensors.mallory"), [hook])
    temperature(Stream.objects.get(slug="sensors.mallory"), T0, 35)
    assert Delivery.objects.filter(status="queued").count() == DEAD_HOOKS + 1

    started = time.monotonic()
    run(sender)
    assert receiver.wait_for(1, seconds=2.0), "the other user's notice took more than 2 s"
    waited = time.monotonic() - started
    print(f"the other user's notice arrived after {waited * 1000:.0f} ms")
    assert receiver.received[0].json["state"] == "firing"
    # The dead receivers were being sent to meanwhile, by at most OWNER_THREADS threads.
    deadline = time.monotonic() + 1
    while len(dead.accepted) < OWNER_THREADS and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(dead.accepted) == OWNER_THREADS
    assert Delivery.objects.filter(contact__owner=owner, status="sending").count() == OWNER_THREADS


@dataclass
class SlowReceiver(Receiver):
    """A receiver that takes `delay` seconds to answer; it keeps when each request came and went."""

    delay: float = 0.3
    spans: list[tuple[float, float]] = field(default_factory=list)

    def start(self) -> SlowReceiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                came = time.monotonic()
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                time.sleep(receiver.delay)
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()
                with receiver.arrived:
                    receiver.spans.append((came, time.monotonic()))
                    receiver.received.append(Received(dict(self.headers.items()), body))
                    receiver.arrived.notify_all()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self


def overlap(a: tuple[float, float], b: tuple[float, float]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def test_a_contacts_notices_go_one_at_a_time_in_order_while_others_go_beside_them(
    owner: Any, sender: Sender
) -> None:
    slow, other = SlowReceiver().start(), SlowReceiver().start()
    try:
        stream = running_stream(owner, "sensors.alice")
        hooks = [
            contact_save(owner=owner, name="Slow", kind="webhook", url=slow.url),
            contact_save(owner=owner, name="Other", kind="webhook", url=other.url),
        ]
        rule_to(owner, stream, hooks)
        for step, value in enumerate([35, 25, 36, 24]):
            temperature(stream, T0 + step * 1_000, value)
        run(sender)
        assert slow.wait_for(4, seconds=10.0) and other.wait_for(4, seconds=10.0)
        for receiver in (slow, other):
            assert [(r.json["state"], r.json["t"]) for r in receiver.received] == [
                ("firing", T0),
                ("resolved", T0 + 1_000),
                ("firing", T0 + 2_000),
                ("resolved", T0 + 3_000),
            ]
            # One at a time: each request began after the one before it was answered.
            assert not any(overlap(a, b) for a, b in pairwise(receiver.spans))
        # The two contact points were sent to side by side.
        assert any(overlap(a, b) for a in slow.spans for b in other.spans)
    finally:
        slow.stop()
        other.stop()
