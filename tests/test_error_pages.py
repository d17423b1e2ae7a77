"""The product's own 403, 404 and 500 pages, and the loopback demo serving without DEBUG."""

from __future__ import annotations

import http.cookiejar
import json
import re
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client

from dashboards import services
from tests.processes import WebServer, database_prepare, server_env

# What Django's technical 404 page (DEBUG) says, and a pattern it lists.
TECHNICAL = ("URLconf", "Using the URLconf", "dashboard_id", "Django")


@pytest.fixture(autouse=True)
def production_pages(settings: Any) -> None:
    settings.DEBUG = False
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def assert_product_page(body: str, title: str) -> None:
    assert f"<title>{title} · Pulseboard</title>" in body
    assert 'class="brand"' in body and "css/tokens.css" in body
    for text in TECHNICAL:
        assert text not in body, f"{text!r} leaked into the error page"


@pytest.mark.django_db
def test_an_unknown_address_answers_the_products_404_page() -> None:
    response = Client().get("/no/such/page/")
    assert response.status_code == 404
    body = response.content.decode()
    assert_product_page(body, "Page not found")
    assert "There is nothing at this address" in body
    assert 'href="/accounts/login/"' in body  # the way in for a visitor


@pytest.mark.django_db
def test_a_signed_in_users_404_page_leads_to_their_dashboards(owner: Any) -> None:
    browser = Client()
    browser.force_login(owner)
    response = browser.get("/d/987654/")
    assert response.status_code == 404
    body = response.content.decode()
    assert_product_page(body, "Page not found")
    assert (
        '<a class="button button-primary button-block" href="/">Go to your dashboards</a>' in body
    )
    assert owner.username in body  # the site's header, as on every page


@pytest.mark.django_db
def test_a_revoked_link_answers_a_404_page_that_says_so(owner: Any) -> None:
    dashboard = services.dashboard_create(owner=owner, title="Plant floor")
    token = services.link_create(dashboard=dashboard)
    visitor = Client()
    assert visitor.get(f"/share/{token}/").status_code == 200
    services.link_revoke(dashboard=dashboard)
    response = visitor.get(f"/share/{token}/")
    assert response.status_code == 404
    body = response.content.decode()
    assert_product_page(body, "Page not found")
    assert "This link does not work" in body and "revoked" in body
    assert "Plant floor" not in body


@pytest.mark.django_db
def test_a_refused_change_answers_the_products_403_page(owner: Any, outsider: Any) -> None:
    dashboard = services.dashboard_create(owner=owner, title="Plant floor")
    services.share_add(dashboard=dashboard, user=outsider)
    browser = Client()
    browser.force_login(outsider)
    response = browser.get(f"/d/{dashboard.pk}/rename/")
    assert response.status_code == 403
    assert_product_page(response.content.decode(), "Not allowed")


@pytest.mark.django_db
def test_a_form_without_its_csrf_token_answers_the_products_403_page(owner: Any) -> None:
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(owner)
    response = browser.post("/d/new/", {"title": "Forged"})
    assert response.status_code == 403
    body = response.content.decode()
    assert_product_page(body, "Form expired")
    assert "Reload the page and try again" in body


def test_a_host_the_server_does_not_answer_to_gets_the_products_400_page() -> None:
    response = Client(HTTP_HOST="pulse.attacker.example").get("/accounts/login/")
    assert response.status_code == 400
    assert_product_page(response.content.decode(), "Bad request")


@pytest.mark.django_db
def test_api_errors_stay_json() -> None:
    response = Client().get("/api/no-such-endpoint")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_the_500_page_renders_with_no_database_at_all() -> None:
    # No django_db mark: any query raises, in the view and in the error page alike.
    response = Client(raise_request_exception=False).get("/share/some-token/")
    assert response.status_code == 500
    body = response.content.decode()
    assert_product_page(body, "Something went wrong")
    assert 'href="/">Go to Pulseboard</a>' in body
    assert "Traceback" not in body and "some-token" not in body


# -- the loopback demo, as `make demo` serves it -------------------------------------


class Visitor:
    """A browser with its cookies, against one server."""

    def __init__(self, base_url: str):
        self.base_url = base_url
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    def open(self, path: str, form: dict[str, str] | None = None) -> tuple[int, str, str, str]:
        """Return the status, final URL, Content-Type and body of GET `path` (POST `form`)."""
        data = urllib.parse.urlencode(form).encode() if form is not None else None
        headers = {"Origin": self.base_url} if form is not None else {}
        request = urllib.request.Request(self.base_url + path, data=data, headers=headers)
        try:
            with self.opener.open(request, timeout=20) as response:
                body = response.read().decode()
                return response.status, response.url, response.headers["Content-Type"], body
        except urllib.error.HTTPError as error:
            return error.code, error.url, error.headers["Content-Type"], error.read().decode()

    def csrf(self) -> str:
        return next((c.value or "" for c in self.jar if c.name == "csrftoken"), "")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebServer]:
    """`make demo` on loopback, on a fresh SQLite file, with no DEBUG in its environment."""
    directory = tmp_path_factory.mktemp("demo")
    env = server_env(f"sqlite:///{directory / 'demo.sqlite3'}", PULSEBOARD_DEMO="1")
    for name in ("DEBUG", "ALLOWED_HOSTS"):
        env.pop(name, None)
    database_prepare(env)
    with WebServer(env, log_path=directory / "demo.log", producer=False) as server:
        yield server


def test_the_loopback_demo_runs_without_debug(demo: WebServer) -> None:
    seen = demo.manage(
        "shell",
        "-c",
        "import json; from django.conf import settings; "
        "print(json.dumps([settings.DEBUG, settings.PULSEBOARD_KNOWN_DEMO_PASSWORDS]))",
    )
    assert json.loads(seen.strip().splitlines()[-1]) == [False, True]


def test_the_demo_serves_its_static_files_and_the_admins_without_debug(demo: WebServer) -> None:
    visitor = Visitor(demo.base_url)
    page = visitor.open("/accounts/login/")[3] + visitor.open("/admin/login/")[3]
    files = set(re.findall(r'(?:src|href)="(/static/[^"]+)"', page))
    assert any(path.endswith(".js") for path in files), page
    assert "/static/admin/css/base.css" in files
    for path in sorted(files):
        status, _, kind, body = visitor.open(path)
        assert status == 200 and body, path
        expected = "javascript" if path.endswith(".js") else "text/css"
        assert expected in kind or not path.endswith((".js", ".css")), (path, kind)
    assert visitor.open("/static/js/no-such-file.js")[0] == 404


def test_the_demo_logs_in_and_answers_a_missing_page_with_its_own_404(demo: WebServer) -> None:
    visitor = Visitor(demo.base_url)
    status, _, _, body = visitor.open("/no/such/page/")
    assert status == 404
    assert_product_page(body, "Page not found")
    visitor.open("/accounts/login/")
    form = {"username": "demo", "password": "demo", "csrfmiddlewaretoken": visitor.csrf()}
    status, url, _, body = visitor.open("/accounts/login/", form)
    assert status == 200 and "/d/" in url, url
    status, _, _, body = visitor.open("/share/revoked-or-made-up/")
    assert status == 404 and "This link does not work" in body
    # Loopback by name is an allowed host too.
    request = urllib.request.Request(
        demo.base_url + "/accounts/login/", headers={"Host": f"localhost:{demo.port}"}
    )
    with urllib.request.urlopen(request, timeout=20) as response:
        assert response.status == 200
