"""Looking back in a real Chromium: reduced ranges keep their extremes, playback plays
every field of the stored samples, and an export holds exactly what a widget draws.
"""

from __future__ import annotations

import csv
import io
import json
import re
from typing import Any

import pytest
from playwright.async_api import Page, expect

from tests.e2e.browser import Tabs, wait_connected, wait_drawn
from tests.e2e.servers import ServerProcess

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

SPIKE, DIP, BASE = 75.0, 25.0, 50.0
PLAYED_SPIKE = 99.0
LABEL = "spike-label"
TRADE_SIZE = 777

# Two hours of a detector at 1 Hz ending now, with one flagged spike and one
# flagged dip half an hour ago; a short past range at 20 Hz with a spike, a
# label and a market's trades for playback; a board for each.
SETUP = """
import json, time
from django.contrib.auth import get_user_model
from dashboards import services
from dashboards.models import Dashboard
from streams.messages import sample_frame
from streams.history.store import history_append
from streams.models import Stream

demo = get_user_model().objects.get(username="demo")
now = int(time.time() * 1000)
def stream(slug, kind, fields):
    made, created = Stream.objects.get_or_create(slug=slug, defaults=dict(
        title=slug, source_kind=kind, owner=demo, running=False,
        fields=[{"name": name, "unit": ""} for name in fields]))
    return made, created
detector, fresh = stream("look.detector", "push", ["value", "label"])
if fresh:
    frames = []
    for i in range(7200):
        t = now - 7_200_000 + i * 1000
        value, flags = 50.0 + (i % 5) - 2, []
        if i == 5400: value, flags = 75.0, ["anomaly"]
        if i == 5500: value, flags = 25.0, ["anomaly"]
        frames.append(sample_frame(i + 1, t, {"value": value}, flags))
    history_append({detector.pk: frames})
played, fresh = stream("look.played", "push", ["value", "label"])
market, fresh_market = stream("look.market", "market", ["price", "trade", "book"])
start = now - 120_000
if fresh:
    frames = []
    for i in range(400):  # 20 s at 20 Hz
        values = {"value": 10.0 + (i % 4)}
        if i == 100: values["value"] = 99.0
        if i == 150: values["label"] = "spike-label"
        frames.append(sample_frame(i + 1, start + i * 50, values))
    history_append({played.pk: frames})
if fresh_market:
    frames = []
    for i in range(40):  # a trade every half second
        size = 777 if i == 24 else 1 + i % 3
        book = {"bids": [[100 - i / 10, 1]], "asks": [[100 + i / 10, 2]]}
        frames.append(sample_frame(i + 1, start + i * 500, {
            "price": 100 + i / 10, "trade": {"price": 100 + i / 10, "size": size, "side": "buy"}, "book": book}))
    history_append({market.pk: frames})
boards = {}
for title, widgets in [
    ("Looking back", [
        ("timeseries", detector, "Detector", {"fields": ["value"], "window_points": 600}),
        ("stat", detector, "Detector max", {"fields": ["value"], "stat": "max"}),
    ]),
    ("Playback", [
        ("timeseries", played, "Played", {"fields": ["value"], "window_points": 1000}),
        ("feed", played, "Labels", {"fields": ["label"], "window_points": 500}),
        ("trades", market, "Trades", {}),
        ("orderbook", market, "Book", {}),
        ("candlestick", market, "Candles", {"candle_seconds": 2}),
    ]),
    ("Exporting", [
        ("timeseries", Stream.objects.get(slug="sine.1khz"), "Last 500", {"fields": ["value"], "window_points": 500}),
    ]),
]:
    board = Dashboard.objects.filter(owner=demo, title=title).first()
    if board is None:
        board = services.dashboard_create(owner=demo, title=title)
        for kind, source, name, config in widgets:
            services.widget_save(dashboard=board, user=demo, kind=kind, stream=source, title=name, config=config)
    boards[title] = board.pk
print(json.dumps({"boards": boards, "start": start}))
"""

# In the page: the highest and lowest value the widget's chart holds, over every series.
CHART_EXTREMES = """
(tile) => {
  const chart = tile.querySelector(".timeseries").chart;
  if (!chart) return null;
  const values = chart.data.slice(1).flat().filter((value) => typeof value === "number");
  return { max: Math.max(...values), min: Math.min(...values), series: chart.data.length - 1 };
}
"""


@pytest.fixture(scope="module")
def world(server: ServerProcess) -> dict[str, Any]:
    return json.loads(server.manage("shell", "-c", SETUP).strip().splitlines()[-1])


def widget(page: Page, title: str) -> Any:
    return page.locator(".grid-stack-item").filter(
        has=page.locator(".widget-title", has_text=re.compile(f"^{re.escape(title)}$"))
    )


async def chart_extremes(page: Page, title: str) -> dict[str, float] | None:
    return await widget(page, title).evaluate(CHART_EXTREMES)


async def wait_extremes(page: Page, title: str, high: float) -> dict[str, float]:
    await page.wait_for_function(
        """([title, high]) => [...document.querySelectorAll(".grid-stack-item")]
              .filter((tile) => tile.querySelector(".widget-title")?.textContent === title)
              .some((tile) => {
                const chart = tile.querySelector(".timeseries")?.chart;
                return chart && chart.data.slice(1).flat().some((value) => value === high);
              })""",
        arg=[title, high],
    )
    extremes = await chart_extremes(page, title)
    assert extremes is not None
    return extremes


@pytest.mark.parametrize("choice", ["1h", "24h"])
async def test_a_reduced_range_draws_the_spike_and_the_dip_at_their_height(
    tabs: Tabs, world: dict[str, Any], choice: str
) -> None:
    tab = await tabs.login("demo", "demo", next_path=f"/d/{world['boards']['Looking back']}/")
    page = tab.page
    await wait_connected(page)  # the page's controls are wired
    await page.locator("#range-select").select_option(choice)
    await expect(page.locator("#range-note")).to_contain_text("min–max band")
    extremes = await wait_extremes(page, "Detector", SPIKE)
    assert extremes["max"] == SPIKE and extremes["min"] == DIP
    assert extremes["series"] == 3, "the mean, and the band's min and max"
    # The card and the chart agree on the range.
    await expect(widget(page, "Detector max").locator(".stat-value")).to_have_text("75")
    tabs.assert_clean()


async def test_playback_plays_the_spike_the_label_and_the_trades_in_order(
    tabs: Tabs, world: dict[str, Any]
) -> None:
    start = world["start"]
    tab = await tabs.login(
        "demo",
        "demo",
        next_path=f"/d/{world['boards']['Playback']}/?from={start - 1000}&to={start + 21_000}",
    )
    page = tab.page
    await wait_connected(page)
    await expect(page.locator("#playback")).to_be_visible()
    await expect(page.locator("#range-note")).to_contain_text("every sample")
    await page.locator("#playback-speed").select_option("10")
    await page.locator("#playback-toggle").click()
    await expect(page.locator("#playback-toggle")).to_have_text("Pause replay")
    # At 10× the 20 s range plays in about 2 s; each part arrives in its widget.
    await wait_extremes(page, "Played", PLAYED_SPIKE)
    position_at_spike = await board_position(page)
    assert position_at_spike >= start + 100 * 50
    await expect(widget(page, "Labels").locator(".feed-list")).to_contain_text(LABEL)
    await expect(widget(page, "Trades").locator(".trades-table")).to_contain_text(str(TRADE_SIZE))
    await expect(widget(page, "Book").locator(".book-spread")).to_contain_text("spread")
    await wait_drawn(page, '.grid-stack-item[data-kind="candlestick"] canvas')
    await expect(page.locator("#playback-toggle")).to_have_text("Replay", timeout=15_000)
    tabs.assert_clean()


async def board_position(page: Page) -> float:
    state = await page.evaluate("() => document.getElementById('board-grid').board.playback()")
    return float(state["position"])


async def test_pause_seek_and_speed_take_effect_at_once(tabs: Tabs, world: dict[str, Any]) -> None:
    start = world["start"]
    tab = await tabs.login(
        "demo",
        "demo",
        next_path=f"/d/{world['boards']['Playback']}/?from={start - 1000}&to={start + 21_000}",
    )
    page = tab.page
    await expect(page.locator("#range-note")).to_contain_text("every sample")
    await page.locator("#playback-speed").select_option("0.5")
    await page.locator("#playback-toggle").click()
    await page.wait_for_timeout(400)
    await page.locator("#playback-toggle").click()  # pause
    paused = await board_position(page)
    await page.wait_for_timeout(500)
    assert await board_position(page) - paused <= 0.5 * 200, "the clock stopped within 200 ms"
    # Scrub to three quarters: the clock goes there, the label before it is shown.
    await page.locator("#playback-scrub").fill("750")
    await page.wait_for_timeout(200)
    position = await board_position(page)
    assert abs(position - (start - 1000 + 0.75 * 22_000)) < 50
    await expect(widget(page, "Labels").locator(".feed-list")).to_contain_text(LABEL)
    tabs.assert_clean()


async def test_a_points_window_widget_exports_exactly_the_samples_it_draws(
    tabs: Tabs, world: dict[str, Any]
) -> None:
    tab = await tabs.login("demo", "demo", next_path=f"/d/{world['boards']['Exporting']}/")
    page = tab.page
    await wait_connected(page)
    await page.wait_for_function(
        "() => document.getElementById('board-grid').board.host.spans()[0].span?.lastSeq"
        " - document.getElementById('board-grid').board.host.spans()[0].span?.firstSeq >= 499"
    )
    # The chart takes what arrived at its next redraw (at the text pace: up to 200 ms on).
    await page.wait_for_function(
        "() => document.querySelector('#board-grid .timeseries').chart?.data[0].length >= 500"
    )
    tile = widget(page, "Last 500")
    await tile.hover()
    # What the widget holds, read as its export menu opens (the file holds that moment).
    drawn = await page.evaluate(
        """async () => {
          const grid = document.getElementById("board-grid");
          const span = grid.board.host.spans()[0].span;
          const chart = grid.querySelector(".timeseries").chart;
          document.querySelector("[data-widget-export]").click();
          return { span, points: chart.data[0].length };
        }"""
    )
    async with page.expect_download() as download:
        await page.locator('#widget-export-menu [data-export="csv"]').click()
    body = (await (await download.value).path()).read_text()
    rows = list(csv.reader(io.StringIO(body)))[1:]
    seqs = [int(row[1]) for row in rows]
    assert seqs == list(range(drawn["span"]["firstSeq"], drawn["span"]["lastSeq"] + 1))
    assert len(rows) == 500 == drawn["points"]
    tabs.assert_clean()
