"""Alerts through a running server: a signed webhook per transition, in order, and a browser notification.

The server is the demo one (`manage.py serve`, producer inside); the webhook
receiver runs here, on 127.0.0.1, and records what it gets.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.async_api import expect

from tests.alerts.alert_helpers import Receiver
from tests.e2e.browser import ARTIFACTS, Tabs
from tests.e2e.servers import ServerProcess

pytestmark = [pytest.mark.e2e]

# A push stream of demo's, a webhook and a browser contact point, and a rule that sends to them.
SETUP = """
import json
from django.contrib.auth import get_user_model
from alerts.models import AlertRule, ContactPoint
from alerts.services import alert_rule_save, contact_save
from streams.models import Stream

demo = get_user_model().objects.get(username="demo")
stream, _ = Stream.objects.update_or_create(
    slug="{slug}",
    defaults=dict(title="Alert test", source_kind="push", owner=demo, is_public=False,
                  fields=[{{"name": "value", "unit": ""}}], running=True),
)
AlertRule.objects.filter(stream=stream).delete()
hook = contact_save(owner=demo, name="Receiver {slug}", kind="webhook", url="{url}")
browser, _ = ContactPoint.objects.get_or_create(owner=demo, name="This browser", kind="browser")
rule = alert_rule_save(
    rule=AlertRule(owner=demo, name="Hot {slug}", stream=stream, field="value", condition="above",
                   threshold=50.0, duration_seconds={duration}),
    contacts=[hook, browser],
)
print(json.dumps({{"secret": hook.secret, "rule": rule.pk}}))
"""


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    receiver = Receiver().start()
    yield receiver
    receiver.stop()


def setup_rule(server: ServerProcess, slug: str, url: str, duration: int) -> dict[str, Any]:
    code = SETUP.format(slug=slug, url=url, duration=duration)
    return json.loads(server.manage("shell", "-c", code).strip().splitlines()[-1])


def push(server: ServerProcess, slug: str, value: float) -> None:
    request = urllib.request.Request(
        f"{server.base_url}/api/streams/{slug}/samples",
        data=json.dumps({"samples": [{"values": {"value": value}}]}).encode(),
        headers={
            "Authorization": f"Token {server.api_token}",
            "Content-Type": "application/json",
        },
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status in (200, 201)


async def wait_for(receiver: Receiver, count: int, seconds: float) -> float:
    """Wait until `count` webhooks arrived; return how long it took."""
    started = time.monotonic()
    await asyncio.to_thread(receiver.wait_for, count, seconds)
    return time.monotonic() - started


def stop_stream(server: ServerProcess, slug: str) -> None:
    """Stop the stream as the admin does: its running flag (a socket's stop refuses push streams)."""
    code = f"from streams.models import Stream; Stream.objects.filter(slug='{slug}').update(running=False)"
    server.manage("shell", "-c", code)


@pytest.mark.asyncio
async def test_firing_resolved_and_no_data_each_reach_the_webhook_once_in_order(
    server: ServerProcess, receiver: Receiver
) -> None:
    slug, duration = "push.alerts-webhook", 1
    made = setup_rule(server, slug, receiver.url, duration)
    push(server, slug, 70)
    assert await wait_for(receiver, 1, duration + 2) < duration + 2
    push(server, slug, 10)
    assert await wait_for(receiver, 2, duration + 2) < duration + 2
    stop_stream(server, slug)
    assert await wait_for(receiver, 3, duration + 2) < duration + 2
    # Nothing more comes: no second copy of any of the three.
    await asyncio.sleep(1)
    bodies = [request.json for request in receiver.received]
    assert [body["state"] for body in bodies] == ["firing", "resolved", "no data"]
    assert [body["rule"]["id"] for body in bodies] == [made["rule"]] * 3
    assert bodies[2]["reason"] == "its stream was stopped"
    for request in receiver.received:
        signed = hmac.new(made["secret"].encode(), request.body, hashlib.sha256).hexdigest()
        assert request.headers["X-Pulseboard-Signature"] == f"sha256={signed}"


# In the page: the elements that reach past the viewport's width, innermost first.
TOO_WIDE = """
(width) => [...document.querySelectorAll("body *")]
  .filter((el) => el.getBoundingClientRect().right > width + 1 && !el.closest("#toasts"))
  .filter((el) => ![...el.children].some((child) => child.getBoundingClientRect().right > width + 1))
  .slice(0, 5)
  .map((el) => `${el.tagName.toLowerCase()}.${el.className} ${Math.round(el.getBoundingClientRect().right)}`)
"""

# The page is hidden, and every notification it shows is recorded in window.__notes.
HIDDEN_AND_RECORDED = """
(() => {
  Object.defineProperty(Document.prototype, "hidden", { get: () => true });
  window.__notes = [];
  const Native = window.Notification;
  window.Notification = class extends Native {
    constructor(title, options) {
      super(title, options);
      window.__notes.push({ title, body: options?.body ?? "" });
    }
  };
})();
"""


@pytest.mark.browser
@pytest.mark.asyncio
async def test_a_hidden_dashboard_shows_a_browser_notification(
    server: ServerProcess, tabs: Tabs, receiver: Receiver
) -> None:
    slug = "push.alerts-browser"
    setup_rule(server, slug, receiver.url, 0)
    tab = await tabs.login("demo", "demo", next_path="/alerts/")
    page = tab.page
    await page.context.grant_permissions(["notifications"], origin=server.base_url)
    await page.add_init_script(HIDDEN_AND_RECORDED)
    await page.goto("/alerts/")
    assert await page.evaluate("() => Notification.permission") == "granted"
    await expect(page.locator("[data-notify-state]").first).to_have_text("allowed")
    # The alerts page holds a socket too; wait for it before the alert is sent.
    await page.wait_for_timeout(1000)
    push(server, slug, 80)
    await page.wait_for_function("() => window.__notes.length > 0")
    notes = await page.evaluate("() => window.__notes")
    assert notes[0]["title"] == f"Alert: Hot {slug}"
    assert "met “above the threshold” at once" in notes[0]["body"]
    push(server, slug, 10)
    # The page as people see it, with contact points and the delivery log filled in.
    await page.get_by_role("button", name="Send test to This browser").click()
    await expect(page.locator("#deliveries-table [data-status=sent]").first).to_be_visible()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for width in (1400, 390):
        await page.set_viewport_size({"width": width, "height": 900})
        await page.wait_for_timeout(200)
        page_width = await page.evaluate("() => document.documentElement.scrollWidth")
        assert page_width <= width, await page.evaluate(TOO_WIDE, width)
        await page.screenshot(path=str(ARTIFACTS / f"alerts-page-{width}.png"), full_page=True)
    tabs.assert_clean()
