"""The broker pages in Chromium: a user connects a broker and routes a topic without the command line.

Each page then passes axe (WCAG 2.1 A/AA, no serious or critical violation) in both
themes on a desktop and a phone, and html-validate as served.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from playwright.async_api import Page, ViewportSize, expect

from tests.e2e.browser import PHONE, Tabs, browser, fill_login_form, tabs  # noqa: F401
from tests.e2e.conftest import server  # noqa: F401
from tests.e2e.test_accessibility import WIDE, audit, tab_for_axe
from tests.processes import ROOT
from tests.test_html_valid import CONFIG, HTML_VALIDATE

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

SHOTS = Path("/tmp/shots/h8")
SHOTS.mkdir(parents=True, exist_ok=True)


async def broker_connect(page: Page) -> str:
    """Connect a broker and route a topic to push.demo through the pages; return its page's path."""
    await page.goto("/devices/")
    await page.locator("#broker-new-link").click()
    await page.get_by_label("Name", exact=True).fill("Greenhouse")
    await page.get_by_label("Address").fill("mqtt://8.8.8.8:1883")
    await page.get_by_label("Payload format").select_option("thingsboard")
    await page.get_by_role("button", name="Connect").click()
    await expect(page.locator("#broker-title")).to_have_text("Greenhouse")
    await page.get_by_label("Topic").fill("greenhouse/+/telemetry")
    await page.get_by_label("Stream", exact=True).select_option("push.demo")
    await page.get_by_role("button", name="Add the route").click()
    await expect(page.locator(".routes-table")).to_contain_text("greenhouse/+/telemetry")
    return page.url.removeprefix(page.url.split("/devices/")[0])


async def bad_route(page: Page) -> None:
    await page.get_by_label("Topic").fill("greenhouse/#/x")
    await page.get_by_role("button", name="Add the route").click()
    await expect(page.locator("#route-form .field-error")).to_contain_text("# stands alone")


@pytest.mark.parametrize("theme", ["dark", "light"])
@pytest.mark.parametrize("width", ["desktop", "phone"])
async def test_a_user_connects_a_broker_and_the_pages_pass_axe(
    tabs: Tabs,  # noqa: F811
    theme: str,
    width: str,
) -> None:
    viewport: ViewportSize = WIDE if width == "desktop" else PHONE
    tab = await tab_for_axe(tabs, viewport, theme, "demo")
    # Refused forms answer 400, which the browser logs.
    tab.allow("status of 400")
    page = tab.page
    await page.goto("/accounts/login/")
    await fill_login_form(page, "demo", "demo")
    path = await broker_connect(page)
    shot = f"{theme}-{viewport['width']}"
    problems = await audit(page, "broker")
    await page.screenshot(path=str(SHOTS / f"broker-{shot}.png"), full_page=True)
    await bad_route(page)
    problems += await audit(page, "broker with a refused route")
    await page.goto("/devices/")
    problems += await audit(page, "brokers")
    await page.screenshot(path=str(SHOTS / f"brokers-{shot}.png"), full_page=True)
    await page.goto("/devices/new/")
    await page.get_by_label("Address").fill("mqtt://127.0.0.1:1883")
    await page.get_by_role("button", name="Connect").click()
    await expect(page.locator("#broker-form .field-error").first).to_be_visible()
    problems += await audit(page, "new broker, refused")
    await page.screenshot(path=str(SHOTS / f"broker-new-{shot}.png"), full_page=True)
    # Delete it again, so each run starts from the same list.
    await page.goto(path)
    await page.get_by_role("button", name="Delete this broker").click()
    await expect(page.locator("#brokers-title")).to_be_visible()
    assert await page.evaluate("document.documentElement.dataset.theme") == theme
    assert not problems, "\n".join(problems)
    tabs.assert_clean()


async def test_the_broker_pages_pass_html_validate(
    tabs: Tabs,  # noqa: F811
    tmp_path: Path,
) -> None:
    tab = await tabs.login("demo", "demo", fresh=True)
    page = tab.page
    path = await broker_connect(page)
    files = {"broker": await page.content()}
    await bad_route(page)
    files["broker-refused-route"] = await page.content()
    await page.goto("/devices/")
    files["brokers"] = await page.content()
    await page.goto("/devices/new/")
    await page.get_by_role("button", name="Connect").click()
    files["broker-new-refused"] = await page.content()
    await page.goto(path)
    await page.get_by_role("button", name="Delete this broker").click()
    names = []
    for name, html in files.items():
        (tmp_path / f"{name}.html").write_text(html)
        names.append(str(tmp_path / f"{name}.html"))
    config = tmp_path / "htmlvalidate.json"
    config.write_text(json.dumps(CONFIG))
    result = subprocess.run(  # noqa: ASYNC221 (the test has nothing else to do meanwhile)
        ["node", str(HTML_VALIDATE), "--config", str(config), "--formatter", "text", *names],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stdout[-8000:] + result.stderr[-2000:]
