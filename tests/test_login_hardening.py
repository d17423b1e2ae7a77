"""Logins and pages: throttled login attempts, a Content-Security-Policy without inline
script, and password reset only where email can be sent."""

from __future__ import annotations

import importlib
import re
from collections.abc import Iterator
from typing import Any

import pytest
from django.core import mail
from django.test import Client
from django.urls import clear_url_caches

import config.urls
from tests.processes import ROOT

pytestmark = pytest.mark.django_db

TEMPLATES = ROOT / "templates"
ALICE_ADDRESS = "203.0.113.7"
OTHER_ADDRESS = "203.0.113.99"


def log_in(username: str, password: str, *, address: str = ALICE_ADDRESS) -> Any:
    return Client(REMOTE_ADDR=address).post(
        "/accounts/login/", {"username": username, "password": password}
    )


def fail_until_locked(username: str, settings: Any, *, address: str = ALICE_ADDRESS) -> None:
    """Fail to log in as `username` until the limit: the last failure gets the lockout page."""
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert log_in(username, "wrong", address=address).status_code == 200
    assert log_in(username, "wrong", address=address).status_code == 429


# -- throttling ----------------------------------------------------------------------


def test_a_user_is_locked_out_from_an_address_after_too_many_failures(
    owner: Any, settings: Any
) -> None:
    assert log_in("alice", "alice-password").status_code == 302
    fail_until_locked("alice", settings)
    refused = log_in("alice", "alice-password")
    assert refused.status_code == 429
    page = refused.content.decode()
    assert "Too many attempts" in page
    assert f"failed {settings.AXES_FAILURE_LIMIT} times" in page
    assert "Try again in 15 minutes" in page
    assert "sessionid" not in refused.cookies


def test_the_lockout_holds_only_that_user_at_that_address(
    owner: Any, outsider: Any, settings: Any
) -> None:
    fail_until_locked("alice", settings)
    assert log_in("alice", "alice-password").status_code == 429
    assert log_in("alice", "alice-password", address=OTHER_ADDRESS).status_code == 302
    assert log_in("mallory", "mallory-password").status_code == 302


def test_a_success_before_the_limit_forgets_the_failures(owner: Any, settings: Any) -> None:
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        log_in("alice", "wrong")
    assert log_in("alice", "alice-password").status_code == 302
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        log_in("alice", "wrong")
    assert log_in("alice", "alice-password").status_code == 302


def test_unknown_usernames_are_throttled_too(settings: Any) -> None:
    fail_until_locked("nobody", settings)
    assert log_in("nobody", "anything").status_code == 429


def test_the_admin_login_is_throttled_as_well(staff: Any, settings: Any) -> None:
    client = Client(REMOTE_ADDR=ALICE_ADDRESS)
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post("/admin/login/", {"username": "olivia", "password": "wrong"})
    refused = client.post("/admin/login/", {"username": "olivia", "password": "olivia-password"})
    assert refused.status_code == 429


def test_force_login_is_not_counted(owner: Any, settings: Any) -> None:
    fail_until_locked("alice", settings)
    client = Client()
    client.force_login(owner)
    assert client.get("/").status_code in (200, 302)
    assert client.get("/api/stats").status_code == 200


# -- Content-Security-Policy ---------------------------------------------------------


def policy_of(response: Any) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    directives = [part.strip().split() for part in header.split(";") if part.strip()]
    return {name: values for name, *values in directives}


@pytest.mark.parametrize("path", ["/accounts/login/", "/", "/admin/login/"])
def test_pages_forbid_inline_and_foreign_script(owner: Any, path: str) -> None:
    client = Client()
    client.force_login(owner)
    response = client.get(path, follow=True)
    assert response.status_code == 200
    policy = policy_of(response)
    assert policy["script-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert "'unsafe-inline'" not in policy["style-src"]
    assert not any("unsafe" in value for values in policy.values() for value in values)


def test_the_lockout_page_sends_the_policy_too(owner: Any, settings: Any) -> None:
    fail_until_locked("alice", settings)
    assert policy_of(log_in("alice", "wrong"))["script-src"] == ["'self'"]


INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>")
EVENT_HANDLER = re.compile(r"<[^>]*\son[a-z]+\s*=", re.IGNORECASE)


@pytest.mark.parametrize("template", sorted(TEMPLATES.rglob("*.html")), ids=lambda path: path.name)
def test_no_template_has_inline_script_or_event_handlers(template: Any) -> None:
    text = template.read_text()
    assert not INLINE_SCRIPT.search(text), "scripts come from files under static/"
    assert not EVENT_HANDLER.search(text), "handlers are attached by the page's modules"


def test_the_inline_script_check_can_fail() -> None:
    assert INLINE_SCRIPT.search("<script>alert(1)</script>")
    assert not INLINE_SCRIPT.search(
        '<script type="module" src="/static/js/pages/site.js"></script>'
    )
    assert EVENT_HANDLER.search('<button type="button" onclick="go()">')


# -- password reset ------------------------------------------------------------------


@pytest.fixture
def email_configured(settings: Any) -> Iterator[None]:
    settings.EMAIL_HOST = "smtp.example.com"
    settings.PASSWORD_RESET_ENABLED = True
    importlib.reload(config.urls)
    clear_url_caches()
    yield
    settings.PASSWORD_RESET_ENABLED = False
    importlib.reload(config.urls)
    clear_url_caches()


RESET_PATHS = [
    "/accounts/password_reset/",
    "/accounts/password_reset/done/",
    "/accounts/reset/MQ/set-password/",
    "/accounts/reset/done/",
]


@pytest.mark.parametrize("path", RESET_PATHS)
def test_without_email_the_reset_pages_do_not_exist(path: str) -> None:
    assert Client().get(path).status_code == 404


def test_without_email_the_login_page_offers_no_reset() -> None:
    assert "Forgot your password" not in Client().get("/accounts/login/").content.decode()


@pytest.mark.usefixtures("email_configured")
def test_with_email_a_reset_link_is_mailed_and_sets_a_new_password(owner: Any) -> None:
    client = Client()
    assert "Forgot your password" in client.get("/accounts/login/").content.decode()
    response = client.post("/accounts/password_reset/", {"email": "alice@example.com"})
    assert response.status_code == 302
    assert "Check your email" in client.get(response["Location"]).content.decode()
    assert len(mail.outbox) == 1
    link = re.search(r"https?://[^/]+(/accounts/reset/\S+)", mail.outbox[0].body)
    assert link is not None, mail.outbox[0].body
    form_page = client.get(link.group(1), follow=True)
    assert "Set a new password" in form_page.content.decode()
    new = "a-new-long-password-9"
    done = client.post(
        form_page.redirect_chain[-1][0], {"new_password1": new, "new_password2": new}, follow=True
    )
    assert "Password set" in done.content.decode()
    owner.refresh_from_db()
    assert owner.check_password(new)
