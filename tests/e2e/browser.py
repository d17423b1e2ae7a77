"""Playwright helpers for the browser tests: one Chromium per session, fresh contexts per test.

tests/e2e/conftest.py imports the two fixtures: `browser` (one Chromium per session)
and `tabs` (per test). `tabs` opens logged-in or anonymous pages, records their page errors and console
errors, and saves a screenshot of each page to test-artifacts/browser/<test name>.png
when the test ends.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import pytest_asyncio
from playwright.async_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Error,
    Locator,
    Page,
    ViewportSize,
    async_playwright,
    expect,
)

if TYPE_CHECKING:
    from tests.e2e.servers import ServerProcess

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "browser"

DESKTOP: ViewportSize = {"width": 1440, "height": 900}
PHONE: ViewportSize = {"width": 390, "height": 844}

# Generous but bounded: two cores shared with the server and other people's runs.
WAIT_MS = 15_000
expect.set_options(timeout=WAIT_MS)

# Browsers log every 4xx/5xx answer as a console error; a test that expects one allows it.
HTTP_422 = re.compile(r"status of 422")
LOGIN_URL = re.compile(r"/accounts/login/")

# The storage state (session cookie) of each user's first login, per server.
SESSIONS: dict[tuple[str, str], Any] = {}

# Records the close code of every WebSocket the page opens, in window.__wsCloses.
RECORD_SOCKET_CLOSES = """
(() => {
  const Native = window.WebSocket;
  window.__wsCloses = [];
  window.WebSocket = class extends Native {
    constructor(...args) {
      super(...args);
      this.addEventListener("close", (event) => window.__wsCloses.push(event.code));
    }
  };
})();
"""

# In the page: snapshot each canvas matching `selector`, wait `ms`, say which changed.
CANVASES_CHANGED = """
async ([selector, ms]) => {
  const canvases = () => [...document.querySelectorAll(selector)];
  const before = canvases().map((canvas) => canvas.toDataURL());
  await new Promise((resolve) => setTimeout(resolve, ms));
  const after = canvases().map((canvas) => canvas.toDataURL());
  return before.map((image, index) => after[index] !== undefined && after[index] !== image);
}
"""

# In the page: name the parts of the board (its text, each canvas) that change within `ms`.
BOARD_CHANGED = """
async (ms) => {
  const grid = document.getElementById("board-grid");
  const snap = () => [grid.innerText, ...[...grid.querySelectorAll("canvas")].map((c) => c.toDataURL())];
  const before = snap();
  await new Promise((resolve) => setTimeout(resolve, ms));
  const after = snap();
  return before
    .map((part, index) => (part === after[index] ? null : index ? `canvas ${index}` : "text"))
    .filter(Boolean);
}
"""


@dataclass
class Tab:
    """A page and what went wrong in it."""

    label: str
    page: Page
    errors: list[str] = field(default_factory=list)
    allowed: list[re.Pattern[str]] = field(default_factory=list)

    def allow(self, *patterns: str | re.Pattern[str]) -> None:
        """Let console errors matching any of `patterns` pass (an expected 4xx, say)."""
        self.allowed.extend(re.compile(p) if isinstance(p, str) else p for p in patterns)

    def problems(self) -> list[str]:
        return [e for e in self.errors if not any(p.search(e) for p in self.allowed)]

    def watch(self) -> None:
        def on_console(message: ConsoleMessage) -> None:
            if message.type == "error":
                where = (message.location or {}).get("url", "")
                self.errors.append(f"console: {message.text} ({where})")

        self.page.on("console", on_console)
        self.page.on("pageerror", lambda error: self.errors.append(f"pageerror: {error}"))


class Tabs:
    """The pages of one test; each user gets a browser context of their own."""

    def __init__(self, browser: Browser, server: ServerProcess):
        self.browser = browser
        self.server = server
        self.contexts: list[BrowserContext] = []
        self.tabs: list[Tab] = []

    async def new_context(
        self, viewport: ViewportSize = DESKTOP, storage_state: Any = None
    ) -> BrowserContext:
        context = await self.browser.new_context(
            viewport=viewport, base_url=self.server.base_url, storage_state=storage_state
        )
        context.set_default_timeout(WAIT_MS)
        self.contexts.append(context)
        return context

    async def new_tab(
        self, context: BrowserContext, label: str, *, init_script: str | None = None
    ) -> Tab:
        page = await context.new_page()
        if init_script:
            await page.add_init_script(init_script)
        tab = Tab(label=label, page=page)
        tab.watch()
        self.tabs.append(tab)
        return tab

    async def anonymous(
        self, label: str = "anonymous", *, viewport: ViewportSize = DESKTOP, **kwargs: Any
    ) -> Tab:
        return await self.new_tab(await self.new_context(viewport), label, **kwargs)

    async def login(
        self,
        username: str,
        password: str,
        *,
        label: str | None = None,
        viewport: ViewportSize = DESKTOP,
        next_path: str = "/",
        fresh: bool = False,
    ) -> Tab:
        """Open `next_path` as `username` in a new context and return its tab.

        With `fresh` (or on a user's first login) the page sends us to the login form
        and we fill it in; otherwise the session of that earlier login is reused.
        """
        key = (self.server.base_url, username)
        saved = None if fresh else SESSIONS.get(key)
        context = await self.new_context(viewport, storage_state=saved)
        tab = await self.new_tab(context, label or username)
        await tab.page.goto(next_path)
        if saved is None or LOGIN_URL.search(tab.page.url):
            await expect(tab.page).to_have_url(LOGIN_URL)
            await fill_login_form(tab.page, username, password)
            SESSIONS[key] = await context.storage_state()
        return tab

    def problems(self) -> list[str]:
        return [f"[{tab.label}] {problem}" for tab in self.tabs for problem in tab.problems()]

    def assert_clean(self) -> None:
        problems = self.problems()
        assert not problems, "errors in the pages:\n" + "\n".join(problems)

    async def close(self, test_name: str) -> None:
        """Save a screenshot of each open page, then close every context."""
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        name = re.sub(r"[^\w.-]+", "_", test_name)
        for index, tab in enumerate(self.tabs):
            if tab.page.is_closed():
                continue
            path = ARTIFACTS / (f"{name}.png" if index == 0 else f"{name}-{tab.label}.png")
            # A crashed page has nothing to show; the test says what went wrong.
            with contextlib.suppress(Error):
                await tab.page.screenshot(path=str(path), animations="disabled", timeout=10_000)
        for context in self.contexts:
            await context.close()


async def fill_login_form(page: Page, username: str, password: str) -> None:
    await page.get_by_label("Username").fill(username)
    await page.get_by_label("Password").fill(password)
    await page.get_by_role("button", name="Log in").click()
    await expect(page).not_to_have_url(LOGIN_URL)


# -- what a user notices -----------------------------------------------------------


async def wait_connected(page: Page) -> None:
    await expect(page.locator("#connection-state")).to_have_text("Connected", timeout=WAIT_MS)


async def messages_received(page: Page) -> int:
    text = await page.locator("#stat-received").text_content() or "0"
    return int(re.sub(r"\D", "", text) or 0)


async def wait_messages_grow(page: Page, beyond: int, timeout: int = WAIT_MS) -> int:
    """Wait until the page's message counter passes `beyond`; return it."""
    await page.wait_for_function(
        """(beyond) => Number(document.getElementById("stat-received").textContent.replace(/\\D/g, "")) > beyond""",
        arg=beyond,
        timeout=timeout,
    )
    return await messages_received(page)


async def canvases_changed(page: Page, selector: str, ms: int) -> list[bool]:
    """Say, for each canvas matching `selector`, whether its pixels changed within `ms`."""
    return await page.evaluate(CANVASES_CHANGED, [selector, ms])


async def board_changes(page: Page, ms: int) -> list[str]:
    """Name the parts of the board (its text, its canvases) that changed within `ms`."""
    return await page.evaluate(BOARD_CHANGED, ms)


async def wait_drawn(page: Page, selector: str, count: int = 1) -> None:
    """Wait until `count` canvases matching `selector` exist (their charts are built)."""
    await page.wait_for_function(
        "([selector, count]) => document.querySelectorAll(selector).length >= count",
        arg=[selector, count],
        timeout=WAIT_MS,
    )


async def mark_page(page: Page) -> None:
    """Leave a mark in the page's window; a reload or a navigation wipes it."""
    await page.evaluate("() => { window.__sameDocument = true; }")


async def same_page(page: Page) -> bool:
    return bool(await page.evaluate("() => window.__sameDocument === true"))


def tile(page: Page, *, title: str | None = None, stream: str | None = None) -> Locator:
    """The grid tile of a widget, by its title or its stream."""
    tiles = page.locator(
        f'.grid-stack-item[data-stream="{stream}"]' if stream else ".grid-stack-item"
    )
    if title:
        tiles = tiles.filter(has=page.locator(".widget-title", has_text=title))
    return tiles


@asynccontextmanager
async def replaced(page: Page, selector: str) -> AsyncIterator[None]:
    """Wait, after the block, until htmx has put a new element in the place of `selector`."""
    await page.locator(selector).evaluate("(el) => { el.dataset.replaced = 'no'; }")
    yield
    await expect(page.locator(f"{selector}:not([data-replaced])")).to_have_count(1)


async def grid_position(item: Locator) -> dict[str, int]:
    return await item.evaluate(
        """(el) => Object.fromEntries(["x", "y", "w", "h"].map((k) => [k, Number(el.getAttribute("gs-" + k) || 0)]))"""
    )


async def drag(page: Page, start: tuple[float, float], by: tuple[float, float]) -> None:
    """Press the mouse at `start`, move by `by` in small steps and let go, as a person drags."""
    x, y = start
    await page.mouse.move(x, y)
    await page.mouse.down()
    steps = 12
    for step in range(1, steps + 1):
        await page.mouse.move(x + by[0] * step / steps, y + by[1] * step / steps)
        await page.wait_for_timeout(25)
    await page.mouse.up()


# -- fixtures ------------------------------------------------------------------------


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            await chromium.close()


@pytest_asyncio.fixture(loop_scope="session")
async def tabs(
    browser: Browser, server: ServerProcess, request: pytest.FixtureRequest
) -> AsyncIterator[Tabs]:
    opened = Tabs(browser, server)
    try:
        yield opened
    finally:
        await opened.close(request.node.name)
