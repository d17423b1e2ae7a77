"""Every page a person sees passes html-validate (npm), as a real server renders it.

Pages come from a seeded server, logged in as the demo user: login, dashboards,
the widget editor, sharing, alerts, streams, a push stream's page (with a token made
for its examples), API tokens, the API docs and a secret link.
"""

from __future__ import annotations

import json
import re
import subprocess
import urllib.request
from pathlib import Path

import pytest

from tests.e2e.conftest import demo_session, server  # noqa: F401
from tests.e2e.servers import Browserless
from tests.processes import ROOT

pytestmark = pytest.mark.e2e

HTML_VALIDATE = ROOT / "node_modules" / "html-validate" / "bin" / "html-validate.mjs"
CONFIG = {
    "extends": ["html-validate:standard", "html-validate:a11y"],
    # Django renders `{% csrf_token %}` and such as they are: no style rules on whitespace.
    "rules": {"no-trailing-whitespace": "off"},
}


def post(session: Browserless, path: str) -> str:
    """POST as the page's htmx does (CSRF header); return the answer's HTML."""
    request = urllib.request.Request(
        session.base_url + path,
        data=b"",
        headers={
            "X-CSRFToken": session.cookie("csrftoken") or "",
            "Referer": session.base_url,
            "HX-Request": "true",
        },
    )
    with session.opener.open(request, timeout=10) as response:
        return response.read().decode()


def pages(session: Browserless) -> dict[str, str]:
    """Return the HTML of every page (and htmx panel) by name, fetched as the demo user."""
    anonymous = Browserless(session.base_url)
    fetched = {"login": anonymous.get("/accounts/login/")}
    fetched["home"] = session.get("/")
    dashboard = re.search(r'href="/d/(\d+)/"', fetched["home"][1])
    assert dashboard, "the demo user has no dashboard"
    board = f"/d/{dashboard.group(1)}/"
    for name, path in {
        "dashboard": board,
        "editor": board + "widgets/new/",
        "sharing": board + "sharing/",
        "rename": board + "rename/",
        "import": "/d/import/",
        "streams": "/streams/",
        "new-stream": "/streams/new/",
        "alerts": "/alerts/",
        "api-docs": "/api/docs/",
    }.items():
        fetched[name] = session.get(path)
    with_link = post(session, board + "link/")
    link = re.search(r"/share/[^/\"'<\s]+/", with_link)
    assert link, "no secret link in the sharing panel"
    fetched["shared-link"] = anonymous.get(link.group(0))
    fetched["stream"] = session.get("/streams/push.demo/")
    fetched["stream-token"] = (200, post(session, "/streams/push.demo/"))
    fetched["tokens"] = session.get("/account/tokens/")
    for name, (status, _) in fetched.items():
        assert status == 200, f"{name} answered {status}"
    return {name: html for name, (_, html) in fetched.items()}


def test_every_page_passes_html_validate(demo_session: Browserless, tmp_path: Path) -> None:  # noqa: F811
    files = []
    for name, html in pages(demo_session).items():
        path = tmp_path / f"{name}.html"
        path.write_text(html)
        files.append(str(path))
    config = tmp_path / "htmlvalidate.json"
    config.write_text(json.dumps(CONFIG))
    result = subprocess.run(
        ["node", str(HTML_VALIDATE), "--config", str(config), "--formatter", "text", *files],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stdout[-8000:] + result.stderr[-2000:]
