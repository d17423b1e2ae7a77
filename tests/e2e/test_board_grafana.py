"""What a Grafana user looks for, in a real Chromium: a chart of two streams built in the
editor, widgets moved with the keyboard alone, the market's ticker, a filter in the
page's address, and the connection panel. Screenshots of the overview, the editor
with a two-stream chart and the ticker, in both themes at 1400 and 390 px, go to
test-artifacts/browser/look/.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from playwright.async_api import Page, ViewportSize, expect

from tests.e2e.browser import ARTIFACTS, PHONE, Tabs, grid_position, replaced, tile, wait_connected
from tests.e2e.servers import ServerProcess

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

WIDE: ViewportSize = {"width": 1400, "height": 900}
NUMBER = re.compile(r"^[-−+]?[\d,]+(\.\d+)?$")

SETUP = """
import json
from django.contrib.auth import get_user_model
from dashboards import services
from dashboards.models import Dashboard
from dashboards.series import Series
from streams.models import Stream

demo = get_user_model().objects.get(username="demo")
boards = {}
for title in ("Two labs", "Keys board", "Filtered", "Lab pair"):
    board = Dashboard.objects.filter(owner=demo, title=title).first()
    if board is None:
        board = services.dashboard_create(owner=demo, title=title)
        if title == "Keys board":
            lab = Stream.objects.get(slug="sensors.lab-1")
            services.widget_save(dashboard=board, user=demo, kind="stat", stream=lab, title="Keyed")
        if title == "Filtered":
            kpi = Stream.objects.get(slug="business.kpi")
            services.widget_save(dashboard=board, user=demo, kind="feed", stream=kpi, title="Sales only",
                                 config={"fields": ["label", "value"], "window_points": 50,
                                         "filter": {"text": "Sales"}})
        if title == "Lab pair":
            one, two = Stream.objects.get(slug="sensors.lab-1"), Stream.objects.get(slug="sensors.lab-2")
            services.widget_save(dashboard=board, user=demo, kind="timeseries", stream=one,
                                 title="Lab 1 and lab 2", size=(12, 5),
                                 config={"fields": ["temperature"], "window_seconds": 120, "style": "line"},
                                 series=[Series(two, "temperature"), Series(two, "humidity", "", "right")])
            services.widget_save(dashboard=board, user=demo, kind="ticker",
                                 stream=Stream.objects.get(slug="price.BTC-USD"), title="BTC-USD")
    boards[title] = board.pk
overview = Dashboard.objects.get(owner=demo, title="Live overview").pk
print(json.dumps({"boards": boards, "overview": overview}))
"""

# In the page: each series of the chart titled `title`: how many numbers it draws and the newest time with one.
SERIES_VALUES = """
(title) => {
  const tile = [...document.querySelectorAll(".grid-stack-item")]
    .find((item) => item.querySelector(".widget-title").textContent === title);
  const chart = tile?.querySelector(".timeseries")?.chart;
  if (!chart) return null;
  return chart.series.slice(1).map((series, index) => {
    const column = chart.data[index + 1];
    const drawn = column.flatMap((value, at) => (typeof value === "number" ? [chart.data[0][at]] : []));
    return { label: series.label, numbers: drawn.length, newest: drawn.length ? Math.max(...drawn) : null };
  });
}
"""


@pytest.fixture(scope="module")
def world(server: ServerProcess) -> dict[str, Any]:
    return json.loads(server.manage("shell", "-c", SETUP).strip().splitlines()[-1])


async def series_counts(page: Page, title: str) -> list[dict[str, Any]]:
    return await page.evaluate(SERIES_VALUES, title) or []


async def test_a_chart_of_two_streams_is_built_in_the_editor_and_both_draw_live(
    tabs: Tabs, world: dict[str, Any]
) -> None:
    board = world["boards"]["Two labs"]
    demo = await tabs.login("demo", "demo", next_path=f"/d/{board}/")
    page = demo.page
    await wait_connected(page)
    await page.locator("#add-widget").click()
    async with replaced(page, "#widget-form"):
        await page.locator("#editor-stream").select_option("sensors.lab-1")
    await page.locator("#editor-fields input[value=temperature]").check()
    for name in ("humidity", "pressure"):
        await page.locator(f"#editor-fields input[value={name}]").uncheck()
    async with replaced(page, "#widget-form"):
        await page.locator("#series-0-source").select_option("sensors.lab-2|temperature")
    await expect(page.locator("#series-1-source")).to_have_count(1)
    await page.locator("#editor-title").fill("Lab temperatures")
    await page.locator("#editor-save").click()

    chart = tile(page, title="Lab temperatures")
    await expect(chart.locator("canvas").first).to_be_visible()
    # The second stream's series joins once its subscription answers.
    await page.wait_for_function(
        f"() => {{ const s = ({SERIES_VALUES})('Lab temperatures');"
        " return s?.length === 2 && s.every((one) => one.numbers >= 2); }"
    )
    before = await series_counts(page, "Lab temperatures")
    labels = [s["label"] for s in before]
    assert len(labels) == 2 and labels[0].startswith("Lab 1") and labels[1].startswith("Lab 2")
    assert all(label.endswith(" · temperature") for label in labels), labels
    await page.wait_for_timeout(3000)
    after = await series_counts(page, "Lab temperatures")
    # Both draw live: each series has a newer sample (its window, in seconds, may be full).
    assert all(a["newest"] > b["newest"] for a, b in zip(after, before, strict=True)), (
        before,
        after,
    )
    legend = chart.locator(".legend-name")
    await expect(legend).to_have_text(labels)

    # The page after a reload shows the same two series, and the editor shows them again.
    await page.reload()
    await wait_connected(page)
    await page.wait_for_function(
        f"() => ({SERIES_VALUES})('Lab temperatures')?.every((s) => s.numbers >= 1)"
    )
    await chart.hover()
    await chart.locator("[data-widget-edit]").click()
    await expect(page.locator("#series-0-source")).to_have_value("sensors.lab-2|temperature")
    tabs.assert_clean()


async def test_a_widget_moves_and_resizes_with_the_keyboard_alone(
    tabs: Tabs, world: dict[str, Any]
) -> None:
    board = world["boards"]["Keys board"]
    demo = await tabs.login("demo", "demo", next_path=f"/d/{board}/")
    page = demo.page
    await wait_connected(page)
    keyed = tile(page, title="Keyed")
    await expect(keyed.locator(".stat-value")).to_have_text(NUMBER)
    start = await grid_position(keyed)
    # Tab from the page's last control before the grid until the tile has focus.
    article = keyed.locator(".widget")
    for _ in range(60):
        if await article.evaluate("(el) => el === document.activeElement"):
            break
        await page.keyboard.press("Tab")
    else:
        raise AssertionError("the widget never took the keyboard focus")
    async with page.expect_response(re.compile(r"/layout/$")) as saved:
        await page.keyboard.press("ArrowRight")
        await page.keyboard.press("ArrowRight")
        await page.keyboard.press("ArrowRight")
        await page.keyboard.press("ArrowLeft")
    assert (await saved.value).status == 204
    moved = await grid_position(keyed)
    assert (moved["x"], moved["y"]) == (start["x"] + 2, start["y"]), (start, moved)
    await expect(page.locator("#grid-announcer")).to_contain_text("Keyed moved to column")
    async with page.expect_response(re.compile(r"/layout/$")):
        await page.keyboard.press("Shift+ArrowRight")
        await page.keyboard.press("Shift+ArrowDown")
    resized = await grid_position(keyed)
    assert (resized["w"], resized["h"]) == (start["w"] + 1, start["h"] + 1)
    await expect(page.locator("#grid-announcer")).to_contain_text("resized to")
    await page.reload()
    await wait_connected(page)
    assert await grid_position(tile(page, title="Keyed")) == resized
    tabs.assert_clean()


async def test_the_ticker_shows_the_market_moving(tabs: Tabs, world: dict[str, Any]) -> None:
    demo = await tabs.login("demo", "demo", next_path=f"/d/{world['overview']}/")
    page = demo.page
    await wait_connected(page)
    ticker = page.locator('.grid-stack-item[data-kind="ticker"]')
    await expect(ticker.locator(".ticker-price")).to_have_text(NUMBER)
    await expect(ticker.locator(".ticker-change-value")).to_have_text(re.compile(r"^[+−]?[\d,.]+$"))
    await expect(ticker.locator(".ticker-change-pct")).to_have_text(re.compile(r"%\)$"))
    assert await ticker.locator(".ticker").get_attribute("data-direction") in ("up", "down", "flat")
    first = await ticker.locator(".ticker-facts dd").nth(1).text_content()
    await expect(ticker.locator(".ticker-facts dd").nth(1)).not_to_have_text(
        first or "", timeout=5000
    )
    tabs.assert_clean()


async def test_a_filter_in_the_address_narrows_a_shared_view(
    tabs: Tabs, world: dict[str, Any]
) -> None:
    board = world["boards"]["Filtered"]
    demo = await tabs.login("demo", "demo", next_path=f"/d/{board}/")
    page = demo.page
    await wait_connected(page)
    feed = tile(page, title="Sales only")
    await expect(feed.locator(".widget-filter-note")).to_have_text("Only “Sales”")
    await expect(feed.locator(".feed-item").first).to_be_visible()
    labels = await feed.locator(".feed-label").all_text_contents()
    assert labels and set(labels) == {"Sales"}, labels
    widget_id = await feed.get_attribute("data-widget-id")
    await page.goto(f"/d/{board}/?f{widget_id}=text:Users")
    await wait_connected(page)
    await expect(feed.locator(".widget-filter-note")).to_have_text("Only “Users”")
    await expect(feed.locator(".feed-item").first).to_be_visible()
    assert set(await feed.locator(".feed-label").all_text_contents()) == {"Users"}
    tabs.assert_clean()


async def test_the_connection_panel_counts_and_disconnects(
    tabs: Tabs, world: dict[str, Any]
) -> None:
    demo = await tabs.login("demo", "demo", next_path=f"/d/{world['overview']}/")
    page = demo.page
    await wait_connected(page)
    await page.locator("#connection-button").click()
    panel = page.locator("#connection-panel")
    await expect(panel).to_be_visible()
    await expect(panel.locator("#panel-state")).to_have_text("Connected")
    await expect(panel.locator("#panel-subscriptions")).not_to_have_text("0")
    frames = int((await panel.locator("#panel-received").text_content() or "0").replace(",", ""))
    await page.wait_for_function(
        "() => Number(document.getElementById('panel-samples').textContent.replace(/,/g, '')) > "
        "Number(document.getElementById('panel-received').textContent.replace(/,/g, ''))"
    )
    assert frames > 0
    await panel.locator("#panel-disconnect").click()
    await expect(panel.locator("#panel-state")).to_have_text("Disconnected")
    await panel.locator("#panel-connect").click()
    await expect(panel.locator("#panel-state")).to_have_text("Connected")
    await expect(panel.locator("#panel-errors")).to_contain_text("No errors.")
    tabs.assert_clean()


@pytest.mark.parametrize("theme", ["dark", "light"])
@pytest.mark.parametrize("width", ["desktop", "phone"])
async def test_screenshots_to_look_at(
    tabs: Tabs, world: dict[str, Any], theme: str, width: str
) -> None:
    viewport = WIDE if width == "desktop" else PHONE
    folder = ARTIFACTS / "look"
    folder.mkdir(parents=True, exist_ok=True)
    demo = await tabs.login("demo", "demo", viewport=viewport)
    page = demo.page
    await page.evaluate(f"localStorage.setItem('pulseboard.theme', '{theme}')")
    await page.goto(f"/d/{world['overview']}/")
    await wait_connected(page)
    await page.wait_for_timeout(2500)
    name = f"{theme}-{viewport['width']}"
    await page.screenshot(path=str(folder / f"overview-{name}.png"), animations="disabled")
    ticker = page.locator('.grid-stack-item[data-kind="ticker"]')
    await ticker.scroll_into_view_if_needed()
    await page.wait_for_timeout(500)
    await ticker.screenshot(path=str(folder / f"ticker-{name}.png"), animations="disabled")
    await page.goto(f"/d/{world['boards']['Lab pair']}/")
    await wait_connected(page)
    chart = tile(page, title="Lab 1 and lab 2")
    await expect(chart.locator("canvas").first).to_be_visible()
    await page.wait_for_timeout(2500)
    await page.screenshot(path=str(folder / f"two-labs-{name}.png"), animations="disabled")
    await chart.hover()
    await chart.locator("[data-widget-edit]").click()
    await expect(page.locator("#series-0-source")).to_be_visible()
    await page.wait_for_timeout(400)
    await page.screenshot(path=str(folder / f"editor-{name}.png"), animations="disabled")
