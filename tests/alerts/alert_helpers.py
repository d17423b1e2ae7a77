"""What the alert tests share: a rule on a running stream, samples at chosen times, a webhook receiver."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import orjson

from alerts import services
from alerts.evaluation import alerts_evaluate
from alerts.models import RULE_SETTINGS, AlertRule, ContactPoint
from streams.messages import Outgoing, sample_frame
from streams.models import Stream
from tests.support.factories import make_rule

T0 = 1_700_000_000_000


def temperature(stream: Stream, t: int, value: float, seq: int | None = None) -> list[Outgoing]:
    """Store-side view of one sample of `value` at `t`: move the stream's rules on by it."""
    return alerts_evaluate(
        {stream.pk: [sample_frame(seq or t - T0 + 1, t, {"temperature": value})]}
    )


def rule_save(
    owner: Any,
    *,
    rule: AlertRule | None = None,
    contacts: list[ContactPoint] | None = None,
    **settings: Any,
) -> AlertRule:
    """Create a rule of `owner`'s with `settings` (the model's defaults for the rest), or change `rule`."""
    unknown = set(settings) - set(RULE_SETTINGS)
    assert not unknown, f"not a setting of a rule: {unknown}"
    target = rule if rule is not None else AlertRule(owner=owner)
    for name, value in settings.items():
        setattr(target, name, value)
    return services.alert_rule_save(rule=target, contacts=contacts)


def rule_from_t0(owner: Any, stream: Stream, **settings: Any) -> AlertRule:
    """Return a saved rule (`make_rule`'s defaults) whose state counts from T0, not the wall clock.

    T0 is the time of a test's first sample, so holds and silences are measured from it.
    """
    rule = make_rule(owner, stream, **settings)
    AlertRule.objects.filter(pk=rule.pk).update(state_since=T0)
    return rule


def states(notices: list[Outgoing]) -> list[str]:
    return [message["frame"]["state"] for _, message in notices]  # type: ignore[typeddict-item]


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return orjson.loads(self.body)


@dataclass
class Receiver:
    """A webhook receiver on 127.0.0.1: answers with `statuses` in turn (then 200), records all."""

    statuses: list[int] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None
    arrived: threading.Condition = field(default_factory=threading.Condition)

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                body = self.rfile.read(length)
                with receiver.arrived:
                    receiver.received.append(Received(dict(self.headers.items()), body))
                    receiver.arrived.notify_all()
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def wait_for(self, count: int, seconds: float) -> bool:
        """Wait until `count` requests arrived (at most `seconds`); say whether they did."""
        with self.arrived:
            return self.arrived.wait_for(lambda: len(self.received) >= count, timeout=seconds)

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
