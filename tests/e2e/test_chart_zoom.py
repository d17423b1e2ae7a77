"""Zoom by dragging across a time series, in a real Chromium: the span dragged over becomes
the dashboard's custom range (in the address, drawn by the charts), Back returns to the range
shown before, step by step, and the toolbar stays one row at 1400 px with Back in it.
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

from tests.e2e.browser import Tabs, tile, wait_connected
from tests.e2e.servers import ServerProcess
from tests.e2e.test_board_day import TOOLBAR_ROWS

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

WIDE: ViewportSize = {"width": 1400, "height": 900}
SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "browser"
CHART = "This host"

SETUP = """
import json
from django.contrib.auth import get_user_model
from dashboards.models import Dashboard
demo = get_user_model().objects.get(username="demo")
print(json.dumps({"board": Dashboard.objects.get(owner=demo, title="Live overview").pk}))
"""

# In the page: the times the chart titled `title` draws (seconds), first and last.
DRAWN = """
(title) => {
  const item = [...document.querySelectorAll(".grid-stack-item")]
    .find((one) => one.querySelector(".widget-title").textContent === title);
  // The one shown: a live chart is kept, out of sight, while a past range shows.
  const shown = [...item.querySelectorAll(".timeseries")].find((one) => one.checkVisibility());
  const xs = shown?.chart?.data[0] ?? [];
  return xs.length ? [xs[0], xs[xs.length - 1]] : null;
}
"""


@pytest.fixture(scope="module")
def world(server: ServerProcess) -> dict[str, Any]:
    return json.loads(server.manage("shell", "-c", SETUP).strip().splitlines()[-1])


def asked(page: Page) -> dict[str, list[str]]:
    return parse_qs(urlsplit(page.url).query)


async def drag(page: Page, start: float, end: float) -> None:
    """Drag across the chart's plot from `start` to `end` (fractions of its box's width)."""
    box = await tile(page, title=CHART).locator(".timeseries-plot").bounding_box()
    assert box is not None
    y = box["y"] + box["height"] * 0.45
    await page.mouse.move(box["x"] + box["width"] * start, y)
    # As a person does: the pointer rests on the chart (its readout shows) before pressing.
    await expect(tile(page, title=CHART).locator(".timeseries-readout")).to_be_visible()
    await page.mouse.down()
    for step in range(1, 6):
        fraction = start + (end - start) * step / 5
        await page.mouse.move(box["x"] + box["width"] * fraction, y)
    await page.mouse.up()


async def drawn_within(page: Page, span: tuple[int, int]) -> list[float] | None:
    """What the chart draws once it draws within `span` (ms), or after 15 s what it draws."""
    for _ in range(60):
        drawn = await page.evaluate(DRAWN, CHART)
        if drawn and span[0] / 1000 <= drawn[0] <= drawn[1] <= span[1] / 1000:
            break
        await page.wait_for_timeout(250)
    return drawn


async def range_in_address(page: Page) -> tuple[int, int]:
    await expect(page).to_have_url(re.compile(r"[?&]from=\d+"))
    query = asked(page)
    return int(query["from"][0]), int(query["to"][0])


async def test_a_drag_across_a_chart_zooms_to_its_span_and_back_returns(
    tabs: Tabs, world: dict[str, Any]
) -> None:
    demo = await tabs.login("demo", "demo", viewport=WIDE)
    page = demo.page
    # A range the chart has samples all over: from its first live sample (the server
    # may have started a moment ago) to now, once that is a minute or more.
    await page.goto(f"/d/{world['board']}/")
    await wait_connected(page)
    await page.wait_for_function(
        "(title) => { const d = ("
        + DRAWN
        + ")(title); return d && Date.now() / 1000 - d[0] > 60; }",
        arg=CHART,
        timeout=90_000,
    )
    drawn = await page.evaluate(DRAWN, CHART)
    start, end = int(drawn[0] * 1000) + 1000, int(time.time() * 1000)
    await page.goto(f"/d/{world['board']}/?from={start}&to={end}")
    await wait_connected(page)
    await expect(page.locator("#range-note")).to_contain_text("History from")
    await page.wait_for_function("(title) => (" + DRAWN + ")(title) !== null", arg=CHART)
    back = page.get_by_role("button", name="Back", exact=True)
    await expect(back).to_be_hidden()

    await drag(page, 0.4, 0.8)
    await expect(back).to_be_visible()
    first = await range_in_address(page)
    assert start < first[0] < first[1] < end, (first, start, end)
    # Two fifths of the box's width, less the axis: roughly a third of the range.
    assert 0.2 < (first[1] - first[0]) / (end - start) < 0.5, first
    await expect(page.locator("#range-select")).to_have_value("custom")
    await expect(page.locator("#range-note")).to_contain_text("History from")
    drawn = await drawn_within(page, first)
    assert drawn and first[0] / 1000 <= drawn[0] <= drawn[1] <= first[1] / 1000, (drawn, first)
    assert len(set(await page.evaluate(TOOLBAR_ROWS))) == 1
    await page.screenshot(path=str(SHOTS / "chart-zoom-1400-dark.png"))

    # A second zoom inside the first, then Back twice: each range before it, in turn.
    await drag(page, 0.5, 0.7)
    await expect(page).not_to_have_url(re.compile(f"from={first[0]}&"))
    second = await range_in_address(page)
    assert first[0] < second[0] < second[1] < first[1], (second, first)
    await back.click()
    assert await range_in_address(page) == first
    await expect(back).to_be_visible()
    await back.click()
    await expect(back).to_be_hidden()
    assert await range_in_address(page) == (start, end)
    await expect(page.locator("#range-note")).to_contain_text("History from")

    # A click (no drag) chooses nothing.
    box = await tile(page, title=CHART).locator(".timeseries-plot").bounding_box()
    assert box is not None
    await page.mouse.click(box["x"] + box["width"] * 0.6, box["y"] + box["height"] * 0.45)
    await page.wait_for_timeout(300)
    assert await range_in_address(page) == (start, end)
    await expect(back).to_be_hidden()
    tabs.assert_clean()


async def test_a_zoom_from_live_goes_back_to_live(tabs: Tabs, world: dict[str, Any]) -> None:
    demo = await tabs.login("demo", "demo", viewport=WIDE)
    page = demo.page
    await page.goto(f"/d/{world['board']}/")
    await wait_connected(page)
    await page.wait_for_function(
        "(title) => { const d = (" + DRAWN + ")(title); return d && d[1] - d[0] > 20; }",
        arg=CHART,
    )
    before = time.time() * 1000
    await drag(page, 0.5, 0.9)
    zoomed = await range_in_address(page)
    assert before - 10 * 60_000 < zoomed[0] < zoomed[1] <= time.time() * 1000 + 5_000, zoomed
    await expect(page.locator("#range-select")).to_have_value("custom")
    back = page.get_by_role("button", name="Back", exact=True)
    await back.click()
    await expect(page.locator("#range-select")).to_have_value("live")
    await expect(back).to_be_hidden()
    assert "from" not in asked(page) and "range" not in asked(page)
    tabs.assert_clean()
