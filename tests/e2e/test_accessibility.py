"""axe-core's WCAG 2.1 A and AA rules on every page, in both themes, on a desktop and a phone.

axe-core comes from npm (package.json's devDependencies); it is injected into
each page and run there. A serious or critical violation fails the test with
the rule, what it says and the elements it found.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Page, ViewportSize, expect

from tests.e2e.browser import PHONE, WAIT_MS, Tab, Tabs, fill_login_form, wait_connected
from tests.e2e.servers import ServerProcess

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
WCAG_21_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
BLOCKING = ("serious", "critical")
WIDE: ViewportSize = {"width": 1400, "height": 900}

SETUP = """
import json
from dashboards import services
from dashboards.models import Dashboard
from django.contrib.auth import get_user_model

demo = get_user_model().objects.get(username="demo")
board = Dashboard.objects.filter(owner=demo).order_by("position", "id").first()
link = board.link_token or services.link_create(dashboard=board)
print(json.dumps({"board": board.pk, "link": link}))
"""


@pytest.fixture(scope="module")
def world(server: ServerProcess) -> dict[str, Any]:
    return json.loads(server.manage("shell", "-c", SETUP).strip().splitlines()[-1])


async def audit(page: Page, name: str) -> list[str]:
    """Run axe on the page as it is; return its serious and critical violations in words."""
    if not await page.evaluate("() => typeof window.axe === 'object'"):
        await page.add_script_tag(path=str(AXE))
    result = await page.evaluate(
        """async (tags) => {
          const found = await axe.run(document, { runOnly: { type: "tag", values: tags } });
          return found.violations.map((v) => ({
            id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.slice(0, 4).map((n) => n.target.join(" ") + " — " + n.failureSummary),
          }));
        }""",
        WCAG_21_AA,
    )
    return [
        f"{name}: {v['id']} ({v['impact']}) {v['help']}\n    " + "\n    ".join(v["nodes"])
        for v in result
        if v["impact"] in BLOCKING
    ]


async def pages_of(page: Page, world: dict[str, Any]) -> list[str]:
    """Visit every page a signed-in user sees and audit each; return the problems."""
    board = f"/d/{world['board']}/"
    problems: list[str] = []
    await page.goto(board)
    await wait_connected(page)
    problems += await audit(page, "dashboard")
    await page.locator("#add-widget").click()
    await expect(page.locator("#widget-form")).to_be_visible()
    problems += await audit(page, "editor")
    await page.keyboard.press("Escape")
    await page.goto(board)
    await page.locator("#share-button").click()
    await expect(page.locator("#drawer-title")).to_be_visible()
    problems += await audit(page, "sharing")
    await page.goto(board)
    await wait_connected(page)
    await page.locator(".widget").first.focus()
    await page.keyboard.press("v")
    await expect(page.locator("#panel-view-bar")).to_be_visible()
    problems += await audit(page, "panel view")
    for name, path in (
        ("alerts", "/alerts/"),
        ("streams", "/streams/"),
        ("push stream", "/streams/push.demo/"),
        ("tokens", "/account/tokens/"),
    ):
        await page.goto(path)
        problems += await audit(page, name)
    # On a phone the site's links are behind the menu button: audit them open.
    menu = page.get_by_role("button", name="Menu")
    if await menu.is_visible():
        await menu.click()
        await expect(page.locator("#site-menu")).to_be_visible()
        problems += await audit(page, "site menu")
    await page.goto(f"{board}?from=1&to=600000")
    await expect(page.locator("#playback")).to_be_visible()
    problems += await audit(page, "playback")
    return problems


async def tab_for_axe(tabs: Tabs, viewport: ViewportSize, theme: str, label: str) -> Tab:
    """Return a tab in a context of its own whose pages take axe (their CSP lets it in)."""
    context = await tabs.browser.new_context(
        viewport=viewport, base_url=tabs.server.base_url, bypass_csp=True
    )
    context.set_default_timeout(WAIT_MS)
    await context.add_init_script(f"localStorage.setItem('pulseboard.theme', '{theme}');")
    tabs.contexts.append(context)
    return await tabs.new_tab(context, label)


@pytest.mark.parametrize("theme", ["dark", "light"])
@pytest.mark.parametrize("width", ["desktop", "phone"])
async def test_every_page_passes_axe_without_serious_violations(
    tabs: Tabs, world: dict[str, Any], theme: str, width: str
) -> None:
    viewport = WIDE if width == "desktop" else PHONE
    anonymous = await tab_for_axe(tabs, viewport, theme, "anonymous")
    await anonymous.page.goto(f"/share/{world['link']}/")
    await wait_connected(anonymous.page)
    problems = await audit(anonymous.page, "shared link")

    demo = await tab_for_axe(tabs, viewport, theme, "demo")
    await demo.page.goto("/accounts/login/")
    problems += await audit(demo.page, "login")
    await fill_login_form(demo.page, "demo", "demo")
    problems += await pages_of(demo.page, world)
    assert await demo.page.evaluate("document.documentElement.dataset.theme") == theme
    assert not problems, f"{theme} theme at {viewport['width']} px:\n" + "\n".join(problems)
