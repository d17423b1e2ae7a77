"""A panel's view in a real Chromium, as Grafana's viewPanel: one widget fills the board from
its View button or the `v` key, Esc (or "Back to dashboard") returns to the board with focus
on that widget, and the view's link opens the dashboard at that panel and time range.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.async_api import Page, ViewportSize, expect

from tests.e2e.browser import PHONE, Tabs, tile, wait_connected
from tests.e2e.servers import ServerProcess

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

WIDE: ViewportSize = {"width": 1400, "height": 900}
SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "browser"
CHART = "This host"

SETUP = """
import json
from django.contrib.auth import get_user_model
from dashboards.models import Dashboard
demo = get_user_model().objects.get(username="demo")
board = Dashboard.objects.get(owner=demo, title="Live overview")
print(json.dumps({"board": board.pk, "widgets": {w.title: w.pk for w in board.widgets.all()}}))
"""

# In the page: the viewed panel's id, the boxes of the tiles a user can see, and the
# range of the chart titled `title` and the times it draws (first, last, how many).
SEEN = """
(title) => {
  const grid = document.getElementById("board-grid");
  const items = [...grid.querySelectorAll(".grid-stack-item")];
  const visible = items.filter((item) => item.checkVisibility({ visibilityProperty: true }));
  const item = items.find((one) => one.querySelector(".widget-title").textContent === title);
  const id = Number(item.dataset.widgetId);
  const span = grid.board.host.spans().find(({ widget }) => widget.id === id)?.span;
  // The one shown: a live chart is kept, out of sight, while a past range shows.
  const chart = [...item.querySelectorAll(".timeseries")].find((one) => one.checkVisibility())?.chart;
  const xs = chart?.data[0] ?? [];
  return {
    viewed: grid.board.viewed(),
    visible: visible.map((item) => item.querySelector(".widget-title").textContent),
    box: visible.length === 1 ? visible[0].getBoundingClientRect().toJSON() : null,
    range: span?.from !== undefined ? [span.from, span.to] : null,
    drawn: xs.length ? [xs[0], xs[xs.length - 1], xs.length] : null,
    scrollWidth: document.scrollingElement.scrollWidth,
  };
}
"""


@pytest.fixture(scope="module")
def world(server: ServerProcess) -> dict[str, Any]:
    return json.loads(server.manage("shell", "-c", SETUP).strip().splitlines()[-1])


async def opened(tabs: Tabs, path: str, viewport: ViewportSize, theme: str = "dark") -> Page:
    demo = await tabs.login("demo", "demo", viewport=viewport, label=f"{theme}-{viewport['width']}")
    await demo.page.context.add_init_script(f"localStorage.setItem('pulseboard.theme', '{theme}');")
    await demo.page.goto(path)
    await wait_connected(demo.page)
    return demo.page


def query(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query)


@pytest.mark.parametrize("theme", ["dark", "light"])
@pytest.mark.parametrize("viewport", [WIDE, PHONE], ids=["1400", "390"])
async def test_v_views_a_widget_alone_and_escape_returns_to_the_board(
    tabs: Tabs, world: dict[str, Any], theme: str, viewport: ViewportSize
) -> None:
    page = await opened(tabs, f"/d/{world['board']}/", viewport, theme)
    chart_id = world["widgets"][CHART]
    widget = tile(page, title=CHART).locator(".widget")
    before = await page.evaluate(SEEN, CHART)
    assert before["viewed"] is None and len(before["visible"]) == len(world["widgets"])
    await widget.focus()
    await page.keyboard.press("v")
    await expect(page.locator("#panel-view-bar")).to_contain_text(f"Viewing {CHART}")
    assert query(page.url)["panel"] == [str(chart_id)]
    seen = await page.evaluate(SEEN, CHART)
    assert seen["viewed"] == chart_id and seen["visible"] == [CHART], seen
    # It fills the board's width and the screen below the bar.
    grid_width = await page.locator("#board-grid").evaluate("(grid) => grid.clientWidth")
    assert seen["box"]["width"] >= grid_width - 12, (seen, grid_width)
    assert seen["box"]["bottom"] >= viewport["height"] - 40, seen
    assert seen["scrollWidth"] <= viewport["width"], seen
    await page.screenshot(path=str(SHOTS / f"panel-view-{viewport['width']}-{theme}.png"))
    await page.keyboard.press("Escape")
    await expect(page.locator("#panel-view-bar")).to_be_hidden()
    await expect(widget).to_be_focused()
    assert "panel" not in query(page.url)
    after = await page.evaluate(SEEN, CHART)
    assert after["viewed"] is None and len(after["visible"]) == len(world["widgets"]), after
    tabs.assert_clean()


async def test_the_view_button_and_back_button(tabs: Tabs, world: dict[str, Any]) -> None:
    page = await opened(tabs, f"/d/{world['board']}/", WIDE)
    title = next(name for name in world["widgets"] if name != CHART)
    view = page.get_by_role("button", name=f"View {title}", exact=True)
    await expect(view).to_have_attribute("aria-pressed", "false")
    await view.focus()
    await page.keyboard.press("Enter")
    await expect(view).to_have_attribute("aria-pressed", "true")
    await expect(page.locator("#panel-view-bar")).to_contain_text(f"Viewing {title}")
    assert (await page.evaluate(SEEN, CHART))["visible"] == [title]
    await page.get_by_role("button", name="Back to dashboard").click()
    await expect(page.locator("#panel-view-bar")).to_be_hidden()
    await expect(view).to_have_attribute("aria-pressed", "false")
    assert len((await page.evaluate(SEEN, CHART))["visible"]) == len(world["widgets"])
    # A panel that is not on the board views nothing and leaves the address clean.
    await page.goto(f"/d/{world['board']}/?panel=999999&range=5m")
    await wait_connected(page)
    await expect(page.locator("#range-select")).to_have_value("5m")
    assert (await page.evaluate(SEEN, CHART))["viewed"] is None
    assert query(page.url) == {"range": ["5m"]}
    tabs.assert_clean()


async def test_the_views_link_opens_that_panel_at_that_time_range(
    tabs: Tabs, world: dict[str, Any]
) -> None:
    now = int(time.time() * 1000)
    # Up to now: the server may have started a moment ago, with nothing stored before.
    start, end = now - 8 * 60_000, now
    page = await opened(tabs, f"/d/{world['board']}/?from={start}&to={end}", WIDE)
    chart_id = world["widgets"][CHART]
    await expect(page.locator("#custom-range-button")).to_be_visible()
    await expect(page.locator("#range-note")).to_contain_text("History from")
    view = page.get_by_role("button", name=f"View {CHART}", exact=True)
    await view.focus()
    await page.keyboard.press("Enter")
    link = page.get_by_role("link", name="Link to this view")
    href = await link.get_attribute("href")
    assert href is not None
    asked = query(href)
    assert asked == {"from": [str(start)], "to": [str(end)], "panel": [str(chart_id)]}, href
    shown = await page.evaluate(SEEN, CHART)
    label = await page.locator("#custom-range-button").text_content()

    # The link, opened by someone else's browser of the same user, shows the same.
    other = await tabs.login("demo", "demo", label="link", viewport=WIDE, next_path=href)
    await wait_connected(other.page)
    await expect(other.page.locator("#panel-view-bar")).to_contain_text(f"Viewing {CHART}")
    await expect(other.page.locator("#custom-range-button")).to_have_text(label or "")
    await expect(other.page.locator("#range-select")).to_have_value("custom")
    await expect(other.page.locator("#range-note")).to_contain_text("History from")
    reopened = await other.page.evaluate(SEEN, CHART)
    assert reopened["viewed"] == chart_id and reopened["visible"] == [CHART], reopened
    assert reopened["range"] == shown["range"] == [start, end], (reopened, shown)
    assert reopened["drawn"] == shown["drawn"], (reopened, shown)
    assert shown["drawn"] and start / 1000 <= shown["drawn"][0] <= shown["drawn"][1] <= end / 1000

    # A range chosen while viewing is in the link too.
    await page.locator("#range-select").select_option("1h")
    await expect(link).to_have_attribute("href", re.compile(r"range=1h"))
    assert query(await link.get_attribute("href") or "") == {
        "panel": [str(chart_id)],
        "range": ["1h"],
    }
    tabs.assert_clean()
