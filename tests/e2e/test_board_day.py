"""A first day on the board as a Grafana user sees it, in a real Chromium: a widget's
export holds exactly what it draws (every stream of a chart, only the fields drawn,
only what a filter keeps), titles fit at the default widget sizes, the toolbar stays
one row at 1400 px in every mode, and the other frictions of a first day.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections import Counter
from typing import Any

import pytest
from playwright.async_api import Page, ViewportSize, expect

from tests.e2e.browser import PHONE, Tabs, tile, wait_connected
from tests.e2e.servers import ServerProcess

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

WIDE: ViewportSize = {"width": 1400, "height": 900}

SETUP = """
import json
from django.contrib.auth import get_user_model
from dashboards import services
from dashboards.models import Dashboard
from dashboards.series import Series
from streams.models import Stream

demo = get_user_model().objects.get(username="demo")
board = Dashboard.objects.filter(owner=demo, title="Day one").first()
if board is None:
    board = services.dashboard_create(owner=demo, title="Day one")
    one, two = Stream.objects.get(slug="sensors.lab-1"), Stream.objects.get(slug="sensors.lab-2")
    services.widget_save(dashboard=board, user=demo, kind="timeseries", stream=one,
                         title="Both labs", size=(6, 5),
                         config={"fields": ["temperature"], "window_seconds": 60, "style": "line"},
                         series=[Series(two, "temperature"), Series(two, "humidity", "", "right")])
    services.widget_save(dashboard=board, user=demo, kind="feed", stream=Stream.objects.get(slug="business.kpi"),
                         title="Sales only", size=(6, 5),
                         config={"fields": ["label", "value"], "window_points": 30, "filter": {"text": "Sales"}})
overview = Dashboard.objects.get(owner=demo, title="Live overview").pk
if not board.link_token:
    services.link_create(dashboard=board)
from alerts.models import AlertRule
from alerts.services import alert_rule_save
if not AlertRule.objects.filter(owner=demo, name="Lab 1 warm, told at length").exists():
    alert_rule_save(rule=AlertRule(owner=demo, name="Lab 1 warm, told at length",
                                   stream=Stream.objects.get(slug="sensors.lab-1"), field="temperature",
                                   condition="above", threshold=1000.0, duration_seconds=30))
print(json.dumps({"board": board.pk, "overview": overview}))
"""

# In the page, at one moment: open the export menu of the widget titled `title` and say
# what it holds: per stream its seqs, and per series of a chart how many numbers it draws.
OPEN_EXPORT = """
(title) => {
  const grid = document.getElementById("board-grid");
  const item = [...grid.querySelectorAll(".grid-stack-item")]
    .find((one) => one.querySelector(".widget-title").textContent === title);
  const id = Number(item.dataset.widgetId);
  const shown = grid.board.host.spans().find(({ widget }) => widget.id === id);
  const chart = item.querySelector(".timeseries")?.chart;
  const series = chart ? chart.series.slice(1).map((one, index) => ({
    label: one.label,
    numbers: chart.data[index + 1].filter((value) => typeof value === "number").length,
  })) : [];
  const labels = [...item.querySelectorAll(".feed-label")].map((one) => one.textContent);
  item.querySelector("[data-widget-export]").click();
  return { span: shown.span, series, labels };
}
"""


@pytest.fixture(scope="module")
def world(server: ServerProcess) -> dict[str, Any]:
    return json.loads(server.manage("shell", "-c", SETUP).strip().splitlines()[-1])


async def opened(tabs: Tabs, path: str, viewport: ViewportSize) -> Page:
    """Open `path` as demo and wait until its socket is connected."""
    demo = await tabs.login("demo", "demo", next_path=path, viewport=viewport)
    await wait_connected(demo.page)
    return demo.page


async def exported(page: Page, title: str, extension: str) -> tuple[dict[str, Any], str]:
    """Open `title`'s export menu, save its file; return what the widget held then and the file."""
    held = await page.evaluate(OPEN_EXPORT, title)
    menu = page.locator("#widget-export-menu")
    await expect(menu).to_be_visible()
    async with page.expect_download() as download:
        await menu.locator(f'[data-export="{extension}"]').click()
    path = await (await download.value).path()
    await expect(menu.locator(".export-status")).to_contain_text("saved")
    return held, path.read_text()


async def test_a_chart_of_two_streams_exports_both_and_only_the_fields_it_draws(
    tabs: Tabs, world: dict[str, Any]
) -> None:
    page = await opened(tabs, f"/d/{world['board']}/", WIDE)
    await page.wait_for_function(
        "() => { const s = document.getElementById('board-grid').board.host.spans()[0].span;"
        " return s?.streams && Object.keys(s.streams).length === 2; }"
    )
    # The chart is made once its first samples are in: wait until it draws all three series.
    await page.wait_for_function(
        """() => { const chart = [...document.querySelectorAll('#board-grid .grid-stack-item')]
              .find((one) => one.querySelector('.widget-title').textContent === 'Both labs')
              ?.querySelector('.timeseries')?.chart;
            return chart && chart.series.length === 4
              && chart.data.slice(1).every((values) => values.some((v) => typeof v === 'number')); }"""
    )
    held, text = await exported(page, "Both labs", "csv")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert list(rows[0].keys()) == [
        "stream",
        "seq",
        "t",
        "time",
        "temperature",
        "humidity",
        "flags",
    ]
    streams = held["span"]["streams"]
    for slug in ("sensors.lab-1", "sensors.lab-2"):
        seqs = [int(row["seq"]) for row in rows if row["stream"] == slug]
        span = streams[slug]
        assert seqs == list(range(span["firstSeq"], span["lastSeq"] + 1)), slug
    # Lab 1 draws its temperature only: its humidity (and pressure) is not in the file.
    assert all(row["humidity"] == "" for row in rows if row["stream"] == "sensors.lab-1")
    # Each series of the chart drew as many numbers as the file holds of its field.
    counts = Counter(
        (row["stream"], name) for row in rows for name in ("temperature", "humidity") if row[name]
    )
    drawn = {series["label"]: series["numbers"] for series in held["series"]}
    assert drawn == {
        "Lab 1 environment · temperature": counts["sensors.lab-1", "temperature"],
        "Lab 2 environment · temperature": counts["sensors.lab-2", "temperature"],
        "Lab 2 environment · humidity": counts["sensors.lab-2", "humidity"],
    }, (drawn, counts)
    await page.keyboard.press("Escape")
    held, text = await exported(page, "Both labs", "json")
    body = json.loads(text)
    assert [(s["stream"], s["fields"]) for s in body["streams"]] == [
        ("sensors.lab-1", ["temperature"]),
        ("sensors.lab-2", ["temperature", "humidity"]),
    ]
    assert {sample["stream"] for sample in body["samples"]} == {"sensors.lab-1", "sensors.lab-2"}
    tabs.assert_clean()


async def test_a_filtered_feed_exports_what_it_shows(tabs: Tabs, world: dict[str, Any]) -> None:
    page = await opened(tabs, f"/d/{world['board']}/", WIDE)
    feed = tile(page, title="Sales only")
    await expect(feed.locator(".feed-item").first).to_be_visible()
    held, text = await exported(page, "Sales only", "csv")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert rows and {row["label"] for row in rows} == {"Sales"}
    # The feed lists newest first; the file oldest first.
    assert [row["label"] for row in reversed(rows)] == held["labels"]
    assert list(rows[0].keys()) == ["stream", "seq", "t", "time", "label", "value", "flags"]
    tabs.assert_clean()


async def test_the_dashboard_export_lists_every_stream_on_screen(
    tabs: Tabs, world: dict[str, Any]
) -> None:
    page = await opened(tabs, f"/d/{world['board']}/", WIDE)
    await page.wait_for_function(
        "() => document.getElementById('board-grid').board.host.spans().every((s) => s.span)"
    )
    await page.locator("#export-button").click()
    links = page.locator('#export-list a[data-export="csv"]')
    await expect(links).to_have_count(3)
    streams = await links.evaluate_all("(all) => all.map((link) => link.dataset.stream)")
    assert sorted(streams) == ["business.kpi", "sensors.lab-1", "sensors.lab-2"]
    tabs.assert_clean()


# In the page: each tile's title, whether it is cut, and its header's height.
TITLES = """
() => [...document.querySelectorAll(".grid-stack-item")].map((item) => {
  const title = item.querySelector(".widget-title");
  return {
    title: title.textContent,
    cut: title.scrollWidth > title.clientWidth,
    header: Math.round(item.querySelector(".widget-header").getBoundingClientRect().height),
  };
})
"""

# In the page: the vertical middles of the toolbar's visible controls (one value: one row).
TOOLBAR_ROWS = """
() => {
  const toolbar = document.getElementById("board-toolbar");
  const controls = [...toolbar.querySelectorAll("button, select, input, .badge, output, dl")]
    .filter((el) => el.checkVisibility() && !el.closest("[popover]"));
  return [...new Set(controls.map((el) => {
    const box = el.getBoundingClientRect();
    return Math.round(box.top + box.height / 2);
  }))];
}
"""


async def test_titles_fit_at_the_default_widget_sizes_and_headers_never_jump(
    tabs: Tabs, world: dict[str, Any]
) -> None:
    page = await opened(tabs, f"/d/{world['overview']}/", WIDE)
    titles = await page.evaluate(TITLES)
    assert len(titles) >= 12
    assert [t["title"] for t in titles if t["cut"]] == []
    assert {t["header"] for t in titles} == {32}
    # Hovering or focusing a tile shows its actions over the header, which keeps its height.
    narrow = tile(page, title="Temperature now")
    await narrow.hover()
    await expect(narrow.locator("[data-widget-export]")).to_be_visible()
    await narrow.locator(".widget").focus()
    after = {t["title"]: t for t in await page.evaluate(TITLES)}
    assert after["Temperature now"] == {"title": "Temperature now", "cut": False, "header": 32}
    tabs.assert_clean()


async def test_the_toolbar_stays_one_row_at_1400_px_in_every_mode(
    tabs: Tabs, world: dict[str, Any]
) -> None:
    page = await opened(tabs, f"/d/{world['overview']}/", WIDE)
    assert len(await page.evaluate(TOOLBAR_ROWS)) == 1, "live"
    select = page.locator("#range-select")
    await select.select_option("1h")
    await expect(page.locator("#range-note")).to_contain_text("History from")
    assert len(await page.evaluate(TOOLBAR_ROWS)) == 1, "last hour"
    # A custom range over two days, chosen in its menu with 24-hour times.
    await select.select_option("custom")
    menu = page.locator("#custom-range")
    await expect(menu).to_be_visible()
    now = await page.evaluate("() => Date.now()")
    start, end = await page.evaluate(
        "([a, b]) => [a, b].map((ms) => { const d = new Date(ms - new Date(ms).getTimezoneOffset() * 60000);"
        " return d.toISOString().slice(0, 19).replace('T', ' '); })",
        [now - 30 * 3600_000, now - 60_000],
    )
    await page.locator("#range-from").fill(start)
    await page.locator("#range-to").fill(end)
    await menu.get_by_role("button", name="Apply").click()
    await expect(menu).to_be_hidden()
    button = page.locator("#custom-range-button")
    await expect(button).to_be_visible()
    assert "AM" not in (await button.text_content() or "")
    await expect(page.locator("#range-note")).to_contain_text("History from")
    assert len(await page.evaluate(TOOLBAR_ROWS)) == 1, "custom range"
    # During a replay: one Pause (the replay's), and still one row.
    await page.locator("#playback-toggle").click()
    await expect(page.locator("#playback-toggle")).to_have_text("Pause replay")
    await expect(page.locator("#view-pause")).to_be_hidden()
    assert len(await page.evaluate(TOOLBAR_ROWS)) == 1, "playback"
    await select.select_option("live")
    await expect(page.locator("#view-pause")).to_be_visible()
    await expect(button).to_be_hidden()
    tabs.assert_clean()


async def test_a_past_range_shows_live_only_widgets_as_a_note_and_table_rows_to_the_second(
    tabs: Tabs, world: dict[str, Any]
) -> None:
    page = await opened(tabs, f"/d/{world['overview']}/", WIDE)
    readings = tile(page, title="Lab 2 readings")
    # Units keep their case in a column's head.
    await expect(readings.locator("th").filter(has_text="pressure")).to_have_text("pressure hPa")
    assert "hPa" in await readings.locator("th").filter(has_text="pressure").inner_text()
    # A server started moments ago has stored a few rows only: wait until the past holds
    # five, and a flagged anomaly (about one in ten seconds).
    await expect(readings.locator("tbody tr").nth(4)).to_be_attached()
    anomalies = tile(page, title="Anomaly detector").locator(".legend-anomaly")
    await expect(anomalies).to_be_attached(timeout=90_000)
    await page.locator("#range-select").select_option("1h")
    await expect(page.locator("#range-note")).to_contain_text("History from")
    viewers = page.locator('.grid-stack-item[data-kind="viewers"]').first
    await expect(viewers.locator(".widget-note")).to_be_visible()
    await expect(viewers.locator(".viewers-value")).to_be_hidden()
    await expect(viewers.locator(".viewers-caption")).to_be_hidden()
    times = await readings.locator("tbody tr td:first-child").all_text_contents()
    assert len(times) >= 5 and all(len(t.split(":")) == 3 for t in times), times
    assert len(set(times)) > 1, times
    # The anomaly key shows the mark drawn: a reduced range's triangle, live a sample's ring.
    key = tile(page, title="Anomaly detector").locator(".legend-anomaly .legend-ring")
    await expect(key).to_have_class(re.compile(r"\bis-bucket\b"))
    await page.locator("#range-select").select_option("live")
    # The demo's anomalies come about one in ten seconds: wait for one in the live window.
    await expect(key).to_be_attached(timeout=90_000)
    await expect(key).not_to_have_class(re.compile(r"\bis-bucket\b"))
    tabs.assert_clean()


async def test_on_a_phone_axes_clear_legends_and_the_alert_state_shows(
    tabs: Tabs, world: dict[str, Any]
) -> None:
    page = await opened(tabs, f"/d/{world['overview']}/", PHONE)
    await page.wait_for_timeout(2500)  # legends fill in with values, and may wrap
    overlaps = await page.evaluate(
        """() => [...document.querySelectorAll(".grid-stack-item .timeseries")].flatMap((chart) => {
          const plot = chart.querySelector(".uplot")?.getBoundingClientRect();
          const legend = chart.querySelector(".timeseries-legend")?.getBoundingClientRect();
          if (!plot || !legend || !legend.height) return [];
          return plot.bottom > legend.top + 0.5 ? [chart.getAttribute("aria-label")] : [];
        })"""
    )
    assert overlaps == []
    await page.goto("/alerts/")
    row = page.locator("#rules-table tbody tr").first
    state = row.locator(".pill")
    await expect(state).to_be_visible()
    box = await state.bounding_box()
    wrap = await page.locator("#alert-rules").bounding_box()
    assert box and wrap and box["x"] + box["width"] <= wrap["x"] + wrap["width"]
    tabs.assert_clean()


async def test_the_streams_page_is_named_for_itself(tabs: Tabs, world: dict[str, Any]) -> None:
    demo = await tabs.login("demo", "demo", next_path="/streams/", viewport=WIDE)
    page = demo.page
    await expect(page.locator("h1")).to_have_text("Streams")
    await expect(page).to_have_title("Streams · Pulseboard")
    tabs.assert_clean()


async def test_revoking_the_link_asks_with_a_revoke_button(
    tabs: Tabs, world: dict[str, Any]
) -> None:
    demo = await tabs.login("demo", "demo", next_path=f"/d/{world['board']}/", viewport=WIDE)
    page = demo.page
    await page.locator("#share-button").click()
    await page.locator("#link-revoke").click()
    dialog = page.locator("#confirm-dialog")
    await expect(dialog).to_be_visible()
    await expect(dialog.locator("[data-confirm-ok]")).to_have_text("Revoke")
    await dialog.locator("[data-confirm-ok]").click()
    await expect(page.locator("#link-revoke")).to_have_count(0)
    tabs.assert_clean()


async def test_htmx_swaps_never_write_an_inline_style(tabs: Tabs, world: dict[str, Any]) -> None:
    demo = await tabs.login("demo", "demo", next_path="/alerts/", viewport=WIDE)
    page = demo.page
    deliveries = page.locator("#deliveries")
    await expect(deliveries).to_be_visible()
    # A style set from a script (the CSSOM, which the policy allows) on a region htmx
    # swaps every 5 s: the swap must not copy it back as an attribute.
    await deliveries.evaluate("(el) => { el.style.opacity = '0.99'; el.dataset.replaced = 'no'; }")
    await expect(page.locator("#deliveries:not([data-replaced])")).to_have_count(1, timeout=12_000)
    await page.wait_for_timeout(300)
    tabs.assert_clean()


async def test_back_to_live_a_counter_goes_on_and_a_sparkline_stays_full(
    tabs: Tabs, world: dict[str, Any]
) -> None:
    page = await opened(tabs, f"/d/{world['overview']}/", WIDE)
    counter = tile(page, title="Business events").locator(".counter-value")
    spark = tile(page, title="Temperature now").locator(".stat-spark path")
    await page.wait_for_function(
        "(el) => Number(el.textContent.replace(/\\D/g, '')) >= 3",
        arg=await counter.element_handle(),
    )
    counted = int(((await counter.text_content()) or "0").replace(",", ""))
    drawn = len((await spark.get_attribute("d") or "").split("L"))
    await page.locator("#range-select").select_option("5m")
    await expect(page.locator("#range-note")).to_contain_text("History from")
    await page.locator("#range-select").select_option("live")
    await expect(page.locator("#range-note")).to_be_hidden()
    assert int(((await counter.text_content()) or "0").replace(",", "")) >= counted
    assert len((await spark.get_attribute("d") or "").split("L")) >= drawn
    tabs.assert_clean()
