"""A new user's minute: New stream, a token for the examples, a device runs one, the chart moves."""

from __future__ import annotations

import shlex
import urllib.request
import uuid

import pytest
from playwright.async_api import expect

from tests.e2e.browser import Tabs, wait_connected

pytestmark = [pytest.mark.e2e, pytest.mark.browser]


def run_curl(command: str) -> int:
    """Send the request a copied curl example describes, as curl would; return the status."""
    words = shlex.split(command.replace("\\\n", " "))
    url = words[words.index("-X") + 2]
    headers = dict(words[i + 1].split(": ", 1) for i, word in enumerate(words) if word == "-H")
    request = urllib.request.Request(url, data=words[-1].encode(), headers=headers, method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status


async def test_from_new_stream_to_a_live_value_without_the_command_line(tabs: Tabs) -> None:
    slug = f"greenhouse.{uuid.uuid4().hex[:8]}"
    demo = await tabs.login("demo", "demo", next_path="/streams/new/")
    page = demo.page
    await page.fill("#stream-title", "Greenhouse")
    await page.fill("#stream-slug", slug)
    await page.fill("#stream-fields", "temperature °C\nstatus text")
    await page.get_by_role("button", name="Make the stream").click()
    await expect(page).to_have_url(f"{tabs.server.base_url}/streams/{slug}/")
    await expect(page.locator("#example-curl-text")).to_contain_text("YOUR_TOKEN")

    await page.get_by_role("button", name="Make a token for these examples").click()
    await expect(page.locator("#new-token")).to_be_visible()
    curl = await page.locator("#example-curl-text").input_value()
    line_protocol = await page.locator("#example-line-protocol-text").input_value()
    assert "YOUR_TOKEN" not in curl and "Token pb_" in curl

    watcher = await tabs.login("demo", "demo", label="overview", next_path="/streams/")
    await wait_connected(watcher.page)
    card = watcher.page.locator(f'[data-stream="{slug}"]')
    await expect(card).to_be_visible()
    assert run_curl(curl) == 201
    await expect(card.locator('[data-field="temperature"] .card-value-number')).to_contain_text(
        "21.5"
    )
    await expect(card.locator('[data-field="status"] .card-value-number')).to_contain_text("ok")
    assert run_curl(line_protocol) == 204
    await expect(card.locator(".card-updated")).not_to_have_text("no data yet")
    tabs.assert_clean()
