"""The dashboard as people use it: Debian's Chromium, driven by Playwright, against a real server.

Each test asserts what a user would notice (a chart that moves, a badge that says
Connected, a toast) and that no page logged an error. Screenshots of the end state
go to test-artifacts/browser/<test name>.png.
"""

from __future__ import annotations

import itertools
import json
import re
from typing import Any

import pytest
from playwright.async_api import Page, expect

from tests.e2e.browser import (
    HTTP_422,
    PHONE,
    RECORD_SOCKET_CLOSES,
    WAIT_MS,
    Tabs,
    board_changes,
    canvases_changed,
    drag,
    grid_position,
    mark_page,
    messages_received,
    replaced,
    same_page,
    tile,
    wait_connected,
    wait_drawn,
    wait_messages_grow,
)
from tests.e2e.servers import ServerProcess

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

CHARTS = '.grid-stack-item[data-kind="timeseries"] canvas'
SINE_CHART = '.grid-stack-item[data-stream="sine.1khz"][data-kind="timeseries"] canvas'
NUMBER = re.compile(r"^[-−]?[\d,]+(\.\d+)?$")

# What the sharing test needs beyond the seed: a second user, a stream only demo may
# read (the seeded ones are public, so losing a share would not stop them), and two
# dashboards of demo's that the tests may change without touching "Live overview".
SETUP = """
import json
from django.contrib.auth import get_user_model
from dashboards import services
from dashboards.models import Dashboard
from streams.models import Stream
from streams.sources import SOURCES

demo = get_user_model().objects.get(username="demo")
if not get_user_model().objects.filter(username="bob").exists():
    get_user_model().objects.create_user("bob", password="bob-password")
private, _ = Stream.objects.get_or_create(
    slug="private.sine",
    defaults=dict(
        title="Private sine", source_kind="sine", owner=demo, is_public=False,
        fields=SOURCES["sine"].fields,
        source_settings={"frequency": 0.5, "amplitude": 1.0, "rate": 20},
    ),
)
team = Dashboard.objects.filter(owner=demo, title="Team board").first()
if team is None:
    team = services.dashboard_create(owner=demo, title="Team board")
    services.widget_save(dashboard=team, user=demo, kind="timeseries", stream=private,
                         title="Private wave", config={"fields": ["value"], "window_points": 200, "style": "line"})
    services.widget_save(dashboard=team, user=demo, kind="stat", stream=private, title="Private now")
layout = Dashboard.objects.filter(owner=demo, title="Layout board").first()
if layout is None:
    layout = services.dashboard_create(owner=demo, title="Layout board")
    lab = Stream.objects.get(slug="sensors.lab-1")
    services.widget_save(dashboard=layout, user=demo, kind="stat", stream=lab, title="Mover")
    services.widget_save(dashboard=layout, user=demo, kind="gauge", stream=lab, title="Stayer")
print(json.dumps({"team": team.pk, "layout": layout.pk}))
"""


@pytest.fixture(scope="module")
def world(server: ServerProcess) -> dict[str, Any]:
    return json.loads(server.manage("shell", "-c", SETUP).strip().splitlines()[-1])


async def assert_charts_move(page: Page, selector: str, at_least: int, ms: int = 2000) -> None:
    """Charts move: enough of them change within `ms` (three tries, for a loaded machine)."""
    await wait_drawn(page, selector, at_least)
    for _ in range(3):
        changed = await canvases_changed(page, selector, ms)
        if sum(changed) >= at_least:
            return
    raise AssertionError(f"charts that changed in each of three {ms} ms windows: {changed}")


async def assert_chart_still(page: Page, selector: str, ms: int = 1500) -> None:
    # The chart worker may be drawing the frame it began when the stop reached it.
    await page.wait_for_timeout(200)
    changed = await canvases_changed(page, selector, ms)
    assert changed, f"no chart matches {selector}"
    assert not any(changed), f"a chart changed while it should not: {changed}"


# -- 1, 2: the live dashboard on a desktop and on a phone ------------------------------


async def test_demo_logs_in_and_sees_live_charts_on_a_desktop(tabs: Tabs) -> None:
    demo = await tabs.login("demo", "demo", fresh=True)
    page = demo.page
    await expect(page).to_have_url(re.compile(r"/d/\d+/$"))
    await expect(page.locator("#board-title")).to_have_text("Live overview")
    await expect(page.locator(".grid-stack-item")).to_have_count(18)
    await wait_connected(page)
    await expect(page.locator("#connection-state")).to_be_visible()

    # Sine, anomaly, host and lab charts all take new points within two seconds.
    await assert_charts_move(page, CHARTS, at_least=3, ms=2000)
    before = await messages_received(page)
    await wait_messages_grow(page, before)
    await expect(tile(page, title="Temperature now").locator(".stat-value")).to_have_text(NUMBER)
    tabs.assert_clean()


async def test_the_dashboard_stacks_in_one_column_on_a_phone(tabs: Tabs) -> None:
    demo = await tabs.login("demo", "demo", viewport=PHONE, fresh=True)
    page = demo.page
    await expect(page.locator("#board-title")).to_have_text("Live overview")
    await wait_connected(page)
    badge = page.locator("#connection-state")
    await expect(badge).to_be_in_viewport()
    await expect(page.locator("#board-grid")).to_have_class(re.compile(r"\bis-stacked\b"))

    boxes = await page.locator(".grid-stack-item").evaluate_all(
        "(items) => items.map((el) => el.getBoundingClientRect().toJSON())"
    )
    assert len(boxes) == 18
    assert len({round(box["x"]) for box in boxes}) == 1, "tiles are not in one column"
    assert len({round(box["width"]) for box in boxes}) == 1
    column = sorted(boxes, key=lambda box: box["y"])
    for upper, lower in itertools.pairwise(column):
        assert upper["bottom"] <= lower["top"] + 1, f"tiles overlap: {upper} / {lower}"

    overflow = await page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"the page scrolls sideways by {overflow} px"

    # The first charts are live here too.
    await page.locator(SINE_CHART).scroll_into_view_if_needed()
    await assert_charts_move(page, SINE_CHART, at_least=1, ms=1500)
    await wait_messages_grow(page, await messages_received(page))
    await page.evaluate("() => window.scrollTo(0, 0)")
    tabs.assert_clean()


# -- 3: the widget editor --------------------------------------------------------------


async def test_a_widget_added_in_the_editor_appears_and_a_bad_one_is_refused(
    tabs: Tabs,
) -> None:
    demo = await tabs.login("demo", "demo")
    page = demo.page
    demo.allow(HTTP_422)  # the refused save answers 422 with the form and its errors
    await page.get_by_label("New dashboard title").fill("Editor board")
    await page.get_by_role("button", name="Create", exact=True).click()
    await expect(page.locator("#board-title")).to_have_text("Editor board")
    await wait_connected(page)
    await expect(page.locator("#board-empty")).to_be_visible()
    dashboard_id = await page.locator("#board").get_attribute("data-dashboard-id")
    await mark_page(page)

    await page.locator("#add-widget").click()
    drawer = page.locator("#drawer")
    await expect(drawer.locator("#drawer-title")).to_have_text("Add widget")
    # A change of kind or stream redraws the form with the inputs that kind uses.
    async with replaced(page, "#widget-form"):
        await page.locator("#editor-kind").select_option("stat")
    await expect(page.locator("#widget-form")).to_have_attribute("data-kind", "stat")
    async with replaced(page, "#widget-form"):
        await page.locator("#editor-stream").select_option("sensors.lab-1")
    await expect(page.locator('#editor-fields tr[data-field="temperature"]')).to_have_count(1)
    await page.locator('#editor-fields input[value="temperature"]').check()
    await page.locator("#editor-title").fill("Lab temperature")
    await page.locator("#editor-save").click()

    added = tile(page, title="Lab temperature")
    await expect(added).to_have_count(1)
    await expect(added.locator(".stat-value")).to_have_text(NUMBER)
    await expect(added.locator(".stat-unit")).to_have_text("°C")
    await expect(page.locator("#board-empty")).to_be_hidden()
    await expect(drawer).not_to_have_attribute("open", "")
    assert await same_page(page), "the page reloaded to show the widget"

    # A gauge whose scale runs backwards: the error sits by the scale, nothing is saved.
    await page.locator("#add-widget").click()
    await expect(drawer.locator("#drawer-title")).to_have_text("Add widget")
    async with replaced(page, "#widget-form"):
        await page.locator("#editor-kind").select_option("gauge")
    await expect(page.locator("#widget-form")).to_have_attribute("data-kind", "gauge")
    await page.locator("input[name=minimum]").fill("50")
    await page.locator("input[name=maximum]").fill("10")
    await page.locator("#editor-title").fill("Backwards gauge")
    async with page.expect_response(lambda r: r.request.method == "POST") as answer:
        await page.locator("#editor-save").click()
    assert (await answer.value).status == 422
    error = page.locator("#error-range")
    await expect(error).to_be_visible()
    await expect(error).to_contain_text("above min")
    await expect(page.locator("input[name=maximum]")).to_have_attribute("aria-invalid", "true")
    assert await error.evaluate(
        "(el) => el.closest('.form-field').contains(document.querySelector('input[name=maximum]'))"
    ), "the error is not next to the scale"
    await expect(drawer).to_have_attribute("open", "")
    await expect(page.locator(".grid-stack-item")).to_have_count(1)
    assert await same_page(page)

    exported = await page.request.get(f"/d/{dashboard_id}/export.json")
    titles = [widget["title"] for widget in (await exported.json())["widgets"]]
    assert titles == ["Lab temperature"]
    await page.get_by_role("button", name="Cancel").click()
    await expect(drawer).not_to_have_attribute("open", "")
    tabs.assert_clean()


# -- 4: the grid -----------------------------------------------------------------------


async def test_a_dragged_and_resized_widget_keeps_its_place_after_reload(
    tabs: Tabs, world: dict[str, Any]
) -> None:
    demo = await tabs.login("demo", "demo", next_path=f"/d/{world['layout']}/")
    page = demo.page
    await wait_connected(page)
    mover = tile(page, title="Mover")
    await expect(mover.locator(".stat-value")).to_have_text(NUMBER)
    start = await grid_position(mover)
    grid = await page.locator("#board-grid").bounding_box()
    assert grid
    column = grid["width"] / 12
    row = 64 + 5  # cell height and margin of the grid

    header = await mover.locator(".widget-header").bounding_box()
    assert header
    async with page.expect_response(re.compile(r"/layout/$")) as saved:
        await drag(page, (header["x"] + 20, header["y"] + header["height"] / 2), (column * 6, 0))
    assert (await saved.value).status == 204
    moved = await grid_position(mover)
    assert moved["x"] >= start["x"] + 4, f"{start} → {moved}"

    await mover.hover()
    handle = await mover.locator(".ui-resizable-se").bounding_box()
    assert handle
    async with page.expect_response(re.compile(r"/layout/$")) as saved:
        await drag(
            page,
            (handle["x"] + handle["width"] / 2, handle["y"] + handle["height"] / 2),
            (column * 2, row * 2),
        )
    assert (await saved.value).status == 204
    resized = await grid_position(mover)
    assert (resized["w"], resized["h"]) == (start["w"] + 2, start["h"] + 2), f"{start} → {resized}"
    box_before = await mover.bounding_box()

    await page.reload()
    await wait_connected(page)
    mover = tile(page, title="Mover")
    await expect(mover.locator(".stat-value")).to_have_text(NUMBER)
    assert await grid_position(mover) == resized
    box_after = await mover.bounding_box()
    assert box_before and box_after
    for key in ("x", "y", "width", "height"):
        assert abs(box_before[key] - box_after[key]) <= 2, f"{key}: {box_before} / {box_after}"
    tabs.assert_clean()


# -- 5, 6: the viewer's own view -------------------------------------------------------


async def test_the_theme_switches_and_is_remembered(tabs: Tabs) -> None:
    demo = await tabs.login("demo", "demo")
    page = demo.page
    await wait_connected(page)
    html = page.locator("html")
    background = "() => getComputedStyle(document.documentElement).backgroundColor"
    await expect(html).to_have_attribute("data-theme", "dark")
    dark = await page.evaluate(background)

    toggle = page.locator("[data-theme-toggle]")
    await toggle.click()
    await expect(html).to_have_attribute("data-theme", "light")
    await expect(toggle).to_have_attribute("aria-pressed", "true")
    light = await page.evaluate(background)
    assert light != dark

    await page.reload()
    await wait_connected(page)
    await expect(html).to_have_attribute("data-theme", "light")
    assert await page.evaluate(background) == light
    await assert_charts_move(page, SINE_CHART, at_least=1, ms=1000)
    tabs.assert_clean()


async def test_pausing_the_view_freezes_the_charts_until_resumed(tabs: Tabs) -> None:
    demo = await tabs.login("demo", "demo")
    page = demo.page
    await wait_connected(page)
    await assert_charts_move(page, SINE_CHART, at_least=1, ms=1000)

    pause = page.locator("#view-pause")
    await pause.click()
    await expect(pause).to_have_text("Resume")
    await expect(pause).to_have_attribute("aria-pressed", "true")
    received = await messages_received(page)
    # What was on its way settles (a counter rolls to its total for 0.6 s; text
    # widgets draw at most every 0.1 s), then nothing on the board moves.
    await page.wait_for_timeout(800)
    assert await board_changes(page, 1500) == []
    # Data keeps arriving while the view is paused; only the drawing stops.
    await wait_messages_grow(page, received)

    await pause.click()
    await expect(pause).to_have_text("Pause")
    await assert_charts_move(page, SINE_CHART, at_least=1, ms=1000)
    tabs.assert_clean()


# -- 7: sharing ------------------------------------------------------------------------


async def test_a_share_and_a_secret_link_show_live_data_until_revoked(
    tabs: Tabs, world: dict[str, Any]
) -> None:
    board = f"/d/{world['team']}/"
    wave = '.grid-stack-item[data-stream="private.sine"][data-kind="timeseries"] canvas'
    demo = await tabs.login("demo", "demo", next_path=board)
    owner = demo.page
    await wait_connected(owner)
    await owner.locator("#share-button").click()
    await owner.get_by_placeholder("Username").fill("bob")
    await owner.locator("#share-add-form").get_by_role("button", name="Add").click()
    await expect(owner.locator("#sharing-notice")).to_contain_text("bob can now see")
    await expect(owner.locator('#share-list [data-username="bob"]')).to_be_visible()

    # Bob finds it under "Shared with me": read-only, live.
    bob = await tabs.login("bob", "bob-password", label="bob")
    viewer = bob.page
    await viewer.locator("#shared-list").get_by_role("link", name="Team board").click()
    await expect(viewer).to_have_url(re.compile(board + "$"))
    await wait_connected(viewer)
    await expect(viewer.locator("#read-only-tag")).to_contain_text("read-only")
    for control in ("#add-widget", "#share-button", "[data-widget-edit]", "[data-widget-delete]"):
        await expect(viewer.locator(control)).to_have_count(0)
    await expect(viewer.locator(".ui-resizable-handle:visible")).to_have_count(0)
    await expect(tile(viewer, title="Private now").locator(".stat-value")).to_have_text(NUMBER)
    await assert_charts_move(viewer, wave, at_least=1, ms=1500)
    await mark_page(viewer)

    # Demo takes it back: bob is told at once and his chart stops, with no reload.
    await owner.get_by_role("button", name="Remove bob").click()
    await expect(owner.locator("#sharing-notice")).to_have_text("Access removed.")
    toast = viewer.locator(".toast", has_text="Access changed")
    await expect(toast).to_be_visible()
    await expect(toast).to_contain_text("private.sine")
    await assert_chart_still(viewer, wave, ms=1500)
    assert await same_page(viewer), "bob's page reloaded"

    # The secret link: an anonymous browser sees live data until the link is revoked.
    await owner.locator("#link-create").click()
    link = await owner.locator("#share-link").input_value()
    assert "/share/" in link
    anonymous = await tabs.anonymous("link", init_script=RECORD_SOCKET_CLOSES)
    # After the revocation the page re-checks its URL (404) and may retry the socket once.
    anonymous.allow(r"status of 404", r"WebSocket connection to .* failed")
    visitor = anonymous.page
    await visitor.goto(link)
    await wait_connected(visitor)
    await expect(visitor.locator("#read-only-tag")).to_contain_text("Shared link")
    await expect(visitor.locator("#add-widget")).to_have_count(0)
    await assert_charts_move(visitor, wave, at_least=1, ms=1500)
    await mark_page(visitor)

    await owner.locator("#link-revoke").click()
    await owner.locator("#confirm-dialog [data-confirm-ok]").click()
    await expect(owner.locator("#sharing-notice")).to_contain_text("Link revoked")
    await visitor.wait_for_function("() => window.__wsCloses.includes(4003)", timeout=WAIT_MS)
    await expect(visitor.locator("#connection-note")).to_contain_text("This link was revoked")
    await expect(visitor.locator("#connection-state")).to_have_text("Disconnected")
    await assert_chart_still(visitor, wave, ms=1500)
    assert await same_page(visitor), "the link page reloaded"
    tabs.assert_clean()


# -- 8: alerts -------------------------------------------------------------------------


async def test_an_alert_rule_that_fires_shows_a_toast_and_counts_on_the_bell(tabs: Tabs) -> None:
    demo = await tabs.login("demo", "demo")
    board = demo.page
    await wait_connected(board)
    bell = board.locator("#bell-count")
    # Other tests of this server may have left alerts unread: count from here.
    unread = int(await bell.text_content() or "0") if await bell.is_visible() else 0

    rules = await tabs.new_tab(board.context, "alerts")
    page = rules.page
    await page.goto("/alerts/")
    await page.get_by_label("Rule name").fill("Anomaly above zero")
    # Choosing a stream redraws the form with its fields.
    async with replaced(page, "#alert-form"):
        await page.locator("#rule-stream").select_option("anomaly.demo")
    await expect(page.get_by_label("Rule name")).to_have_value("Anomaly above zero")
    await page.locator("#rule-field").select_option("value")
    await page.locator("#rule-condition").select_option("above")
    await page.get_by_label("Threshold").fill("0")
    await page.get_by_label("For at least (seconds)").fill("0")
    await page.locator("#rule-save").click()
    await expect(page.locator("#alert-notice")).to_contain_text("Anomaly above zero")
    await expect(page.locator("#rules-table")).to_contain_text("Anomaly above zero")

    toast = board.locator(".toast", has_text="Alert: Anomaly above zero")
    await expect(toast).to_be_visible()
    await expect(bell).to_be_visible()
    assert int(await bell.text_content() or "0") >= unread + 1
    await expect(board.locator("#bell-button")).to_have_attribute(
        "aria-label", re.compile(r"Alerts, \d+ unread")
    )
    tabs.assert_clean()


# -- 9: sources ------------------------------------------------------------------------


async def test_the_owner_stops_and_starts_a_source_from_the_sources_menu(
    tabs: Tabs, server: ServerProcess
) -> None:
    demo = await tabs.login("demo", "demo")
    page = demo.page
    await wait_connected(page)
    slug = "sensors.lab-1"
    row = page.locator(f'[data-stream-row="{slug}"]')
    badge = row.locator(".running-badge")
    button = row.locator(f'[data-stream-control="{slug}"]')
    dots = page.locator(f'.grid-stack-item[data-stream="{slug}"] .widget-running')
    await page.locator("#sources-button").click()
    await expect(page.locator("#sources-panel")).to_be_visible()
    await expect(badge).to_have_text("Running")
    try:
        await button.click()
        await expect(badge).to_have_text("Stopped")
        await expect(button).to_have_text("Start")
        await expect(row.locator(".source-message")).to_have_text("stopped by demo")
        await expect(dots.first).to_have_attribute("data-running", "false")
        assert set(await dots.evaluate_all("(d) => d.map((x) => x.dataset.running)")) == {"false"}

        await button.click()
        await expect(badge).to_have_text("Running")
        await expect(button).to_have_text("Stop")
        await expect(row.locator(".source-message")).to_have_text("started by demo")
        await expect(dots.first).to_have_attribute("data-running", "true")
        assert set(await dots.evaluate_all("(d) => d.map((x) => x.dataset.running)")) == {"true"}
    finally:
        if await badge.text_content() != "Running":
            server.manage(
                "shell",
                "-c",
                f"from streams.models import Stream; Stream.objects.filter(slug={slug!r}).update(running=True)",
            )
    tabs.assert_clean()
