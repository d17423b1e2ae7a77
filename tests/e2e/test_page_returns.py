"""An open dashboard across a server restart: stale while the server is away, live within 2 s of its return.

The server is the test's own (`manage.py serve` on a free port), restarted under a
Chromium page: while it is down every widget shows it is stale (a hollow dot, a
dimmed value, the time of its last update in the dot's tooltip); once it listens
again the page tries within a second and its charts move within two seconds (held
to that where the machine is not loaded past its cores; printed always), and
RECONN. counts one reconnection however many attempts it took. A widget whose
source is stopped says so.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, expect

from tests.e2e.browser import Tabs, canvases_changed, wait_connected, wait_drawn
from tests.e2e.servers import ServerProcess, e2e_database, served
from tests.processes import server_env
from tests.support.machine import overload

pytestmark = [pytest.mark.e2e, pytest.mark.browser, pytest.mark.chaos]

SINE_CHART = '.grid-stack-item[data-stream="sine.1khz"][data-kind="timeseries"] canvas'
BACK_WITHIN_SECONDS = 2.0
# The page's part of it: its first attempt after the server's return (attempts at a
# server that refuses connections come every 0.6–1 s), with room for a busy browser.
ATTEMPT_WITHIN_SECONDS = 1.2
DOWN_SECONDS = 4.0
REFUSED = (r"ERR_CONNECTION_REFUSED", r"WebSocket connection to .* failed", r"status of 50[23]")
# Notes in the page when each of its sockets was made and when it opened (performance.now()).
RECORD_SOCKETS = """
(() => {
  const Native = window.WebSocket;
  window.__sockets = [];
  window.WebSocket = class extends Native {
    constructor(...args) {
      super(...args);
      const record = { made: performance.now(), opened: null };
      window.__sockets.push(record);
      this.addEventListener("open", () => { record.opened = performance.now(); });
    }
  };
})();
"""


@pytest.fixture(scope="module")
def restartable(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A server of this module's own, since the test stops and starts it."""
    tmp_path: Path = tmp_path_factory.mktemp("restartable")
    database_url, pg_name = e2e_database(tmp_path)
    # The loopback demo: the known login demo / demo, with the producer inside.
    env = server_env(database_url, PULSEBOARD_DEMO="1")
    yield from served(ServerProcess(env, log_path=tmp_path / "server.log"), pg_name)


async def stale_tiles(page: Page) -> tuple[int, int]:
    """Return how many widgets the board has and how many of them are marked stale."""
    return await page.evaluate(
        """() => [document.querySelectorAll(".grid-stack-item .widget").length,
                  document.querySelectorAll(".grid-stack-item .widget.is-stale").length]"""
    )


async def seconds_until_charts_move(page: Page, since: float, limit: float = 15.0) -> float:
    """Return the seconds from `since` (monotonic) until the sine chart moves.

    Checked in windows of 150 ms, and the end of the first window in which it
    moved is taken: the figure errs on the long side by up to one window.
    """
    while time.monotonic() - since < limit:
        changed = await canvases_changed(page, SINE_CHART, 150)
        if any(changed):
            return time.monotonic() - since
    raise AssertionError(f"the charts did not move within {limit:.0f} s of the server's return")


async def test_a_dashboard_is_stale_while_the_server_is_away_and_live_within_2_s_of_its_return(
    browser: Browser, restartable: ServerProcess, request: pytest.FixtureRequest
) -> None:
    tabs = Tabs(browser, restartable)
    try:
        demo = await tabs.login("demo", "demo", fresh=True)
        # What the browser logs of the attempts that found no server.
        demo.allow(*REFUSED)
        page = demo.page
        await page.add_init_script(RECORD_SOCKETS)
        await page.reload()
        await wait_connected(page)
        await wait_drawn(page, SINE_CHART)
        await seconds_until_charts_move(page, time.monotonic())  # live before the restart
        widgets, stale = await stale_tiles(page)
        assert widgets > 0 and stale == 0
        await expect(page.locator("#stat-reconnects")).to_have_text("0")
        live_colour = await page.locator(
            '.grid-stack-item[data-kind="stat"] .stat-value'
        ).first.evaluate("(el) => getComputedStyle(el).color")
        muted = await page.evaluate(
            """() => { const probe = document.createElement("span");
                       probe.style.color = "var(--text-muted)"; document.body.append(probe);
                       const colour = getComputedStyle(probe).color; probe.remove();
                       return colour; }"""
        )

        restartable.stop()
        await expect(page.locator("#connection-state")).to_have_text("Reconnecting")
        await expect(page.locator(".grid-stack-item .widget.is-stale")).to_have_count(widgets)
        # The value dims to the muted text colour (still AA contrast); drawings fade.
        value = page.locator('.grid-stack-item[data-kind="stat"] .stat-value').first
        await expect(value).to_have_css("color", muted)
        assert muted != live_colour
        chart = page.locator(SINE_CHART).first
        assert float(await chart.evaluate("(el) => getComputedStyle(el).opacity")) < 0.6
        dot_source = page.locator('.grid-stack-item[data-stream="sine.1khz"] .widget-source').first
        await expect(dot_source).to_have_attribute("title", re.compile(r"Not live.*last update \d"))
        assert not any(await canvases_changed(page, SINE_CHART, 500)), "a chart moved while down"

        await page.wait_for_timeout(DOWN_SECONDS * 1000)
        restartable.start()
        back_at = time.monotonic()
        back_in_page = await page.evaluate("performance.now()")
        took = await seconds_until_charts_move(page, back_at)
        await expect(page.locator("#connection-state")).to_have_text("Connected")
        made = await page.evaluate(
            "() => window.__sockets.filter((s) => s.opened !== null).at(-1).made"
        )
        attempt = max(0.0, (made - back_in_page) / 1000)
        print(
            f"\npage live again {took:.2f} s after the server listened again"
            f" (its socket made {attempt:.2f} s after)"
        )
        assert attempt <= ATTEMPT_WITHIN_SECONDS, f"the page tried again only after {attempt:.2f} s"
        # The rest is the server's work (handshake, resume, first frames): on a machine
        # loaded past its cores by other runs it takes longer than the product's.
        busy = overload()
        if busy:
            print(f"{busy}: 'live again' printed, not held to 2 s")
        else:
            assert took <= BACK_WITHIN_SECONDS, f"live again only after {took:.2f} s"
        await expect(page.locator(".grid-stack-item .widget.is-stale")).to_have_count(0)
        # However many attempts the outage took, the page reconnected once.
        await expect(page.locator("#stat-reconnects")).to_have_text("1")
        tabs.assert_clean()
    finally:
        await tabs.close(request.node.name)
        if restartable.process is None:  # stopped when the test failed: the next test needs it
            restartable.start()


async def test_a_widget_whose_source_is_stopped_says_so(
    browser: Browser, restartable: ServerProcess, request: pytest.FixtureRequest
) -> None:
    tabs = Tabs(browser, restartable)
    slug = "sensors.lab-1"
    try:
        page = (await tabs.login("demo", "demo")).page
        await wait_connected(page)
        flags = page.locator(f'.grid-stack-item[data-stream="{slug}"] .widget-flag')
        await expect(flags).to_have_count(0)
        row = page.locator(f'[data-stream-row="{slug}"]')
        await page.locator("#sources-button").click()
        await row.locator(f'[data-stream-control="{slug}"]').click()
        await expect(row.locator(".running-badge")).to_have_text("Stopped")
        await page.keyboard.press("Escape")
        tiles = page.locator(f'.grid-stack-item[data-stream="{slug}"]')
        count = await tiles.count()
        assert count > 0
        await expect(flags.filter(has_text="Stopped")).to_have_count(count)
        await expect(flags.first).to_be_visible()
        await expect(tiles.first.locator(".widget-source")).to_have_attribute(
            "title", re.compile(r"^Source stopped")
        )
        await page.locator("#sources-button").click()
        await row.locator(f'[data-stream-control="{slug}"]').click()
        await expect(row.locator(".running-badge")).to_have_text("Running")
        await expect(flags.filter(has_text="Stopped")).to_have_count(0)
        await expect(page.locator(".grid-stack-item .widget.is-stopped")).to_have_count(0)
        tabs.assert_clean()
    finally:
        await tabs.close(request.node.name)
