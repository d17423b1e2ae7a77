"""The site header on a phone and on a desktop, in a real Chromium: at 390 px no main page
scrolls sideways in either theme and the links fold behind a menu button that the keyboard
opens and Escape closes; at 1400 px the links are one row and the button is not there.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Page, ViewportSize, expect

from tests.e2e.browser import PHONE, Tabs
from tests.e2e.servers import ServerProcess

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

WIDE: ViewportSize = {"width": 1400, "height": 900}
SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "browser"

SETUP = """
import json
from django.contrib.auth import get_user_model
from dashboards.models import Dashboard
demo = get_user_model().objects.get(username="demo")
print(json.dumps({"board": Dashboard.objects.get(owner=demo, title="Live overview").pk}))
"""

# In the page: how far it scrolls sideways, and the header links' boxes beyond the screen.
OVERFLOW = """
() => ({
  scrollWidth: document.scrollingElement.scrollWidth,
  width: innerWidth,
  outside: [...document.querySelectorAll(".site-header a, .site-header button")]
    .filter((el) => el.checkVisibility())
    .filter((el) => { const box = el.getBoundingClientRect(); return box.left < 0 || box.right > innerWidth; })
    .map((el) => el.textContent.trim()),
})
"""

LINKS = ["Dashboards", "Streams", "Alerts", "Devices", "API tokens"]


@pytest.fixture(scope="module")
def world(server: ServerProcess) -> dict[str, Any]:
    return json.loads(server.manage("shell", "-c", SETUP).strip().splitlines()[-1])


def main_pages(world: dict[str, Any]) -> list[str]:
    return ["/", f"/d/{world['board']}/", "/streams/", "/alerts/", "/devices/", "/account/tokens/"]


async def demo_page(tabs: Tabs, viewport: ViewportSize, theme: str) -> Page:
    demo = await tabs.login("demo", "demo", viewport=viewport, label=f"{theme}-{viewport['width']}")
    await demo.page.context.add_init_script(f"localStorage.setItem('pulseboard.theme', '{theme}');")
    return demo.page


@pytest.mark.parametrize("theme", ["dark", "light"])
async def test_at_390_px_no_page_scrolls_sideways_and_the_links_are_behind_a_menu(
    tabs: Tabs, world: dict[str, Any], theme: str
) -> None:
    page = await demo_page(tabs, PHONE, theme)
    toggle = page.get_by_role("button", name="Menu")
    for path in main_pages(world):
        await page.goto(path)
        assert await page.evaluate("document.documentElement.dataset.theme") == theme
        measured = await page.evaluate(OVERFLOW)
        assert measured["scrollWidth"] <= measured["width"], (path, measured)
        assert measured["outside"] == [], (path, measured)
        await expect(toggle).to_have_attribute("aria-expanded", "false")
        await expect(page.get_by_role("link", name="Streams", exact=True)).to_be_hidden()
        await toggle.click()
        await expect(toggle).to_have_attribute("aria-expanded", "true")
        for name in LINKS:
            await expect(page.get_by_role("link", name=name, exact=True)).to_be_visible()
        measured = await page.evaluate(OVERFLOW)
        assert measured["scrollWidth"] <= measured["width"], (path, "menu open", measured)
        assert measured["outside"] == [], (path, "menu open", measured)
        await toggle.click()
        await expect(page.get_by_role("link", name="Streams", exact=True)).to_be_hidden()
    await page.goto("/alerts/")
    await toggle.click()
    await page.screenshot(path=str(SHOTS / f"site-menu-390-{theme}.png"))
    # The page it is on is marked in the menu.
    await expect(page.get_by_role("link", name="Alerts", exact=True)).to_have_attribute(
        "aria-current", "page"
    )
    tabs.assert_clean()


async def test_the_menu_opens_from_the_keyboard_and_escape_gives_focus_back(
    tabs: Tabs, world: dict[str, Any]
) -> None:
    page = await demo_page(tabs, PHONE, "dark")
    await page.goto("/streams/")
    toggle = page.get_by_role("button", name="Menu")
    await toggle.focus()
    await page.keyboard.press("Enter")
    await expect(toggle).to_have_attribute("aria-expanded", "true")
    # The menu's links follow its button in the tab order.
    await page.keyboard.press("Tab")
    await expect(page.get_by_role("link", name="Dashboards", exact=True)).to_be_focused()
    await page.keyboard.press("Tab")
    await expect(page.get_by_role("link", name="Streams", exact=True)).to_be_focused()
    await page.keyboard.press("Escape")
    await expect(toggle).to_have_attribute("aria-expanded", "false")
    await expect(toggle).to_be_focused()
    await expect(page.get_by_role("link", name="Dashboards", exact=True)).to_be_hidden()
    # A click elsewhere folds it too.
    await toggle.click()
    await page.mouse.click(195, 800)
    await expect(toggle).to_have_attribute("aria-expanded", "false")
    # Enter on a link goes there.
    await toggle.click()
    await page.get_by_role("link", name="Alerts", exact=True).press("Enter")
    await expect(page).to_have_url("/alerts/")
    tabs.assert_clean()


@pytest.mark.parametrize("theme", ["dark", "light"])
async def test_at_1400_px_the_links_are_one_row_without_a_menu_button(
    tabs: Tabs, world: dict[str, Any], theme: str
) -> None:
    page = await demo_page(tabs, WIDE, theme)
    for path in main_pages(world):
        await page.goto(path)
        await expect(page.get_by_role("button", name="Menu")).to_be_hidden()
        middles = set()
        for name in LINKS:
            link = page.get_by_role("link", name=name, exact=True)
            await expect(link).to_be_visible()
            box = await link.bounding_box()
            assert box is not None
            middles.add(round(box["y"] + box["height"] / 2))
        assert len(middles) == 1, (path, middles)
        measured = await page.evaluate(OVERFLOW)
        assert measured["scrollWidth"] <= measured["width"], (path, measured)
    await page.screenshot(path=str(SHOTS / f"site-menu-1400-{theme}.png"))
    tabs.assert_clean()
