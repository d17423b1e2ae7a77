"""API tokens in the UI: made with a name and shown once, listed with prefix and last use, revoked."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

from streams.models import ApiToken
from tests.support.web import logged_in, token_client

pytestmark = pytest.mark.django_db
TOKENS = "/account/tokens/"


def shown_token(html: str) -> str:
    found = re.search(r'id="new-token-value"[^>]*value="(pb_[^"]+)"', html)
    assert found, "no token shown"
    return found.group(1)


def test_a_token_is_made_with_a_name_shown_once_and_works_on_the_api(owner: Any) -> None:
    browser = logged_in(owner)
    response = browser.post(TOKENS, {"name": "greenhouse-pi"})
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    token = shown_token(response.content.decode())
    row = ApiToken.objects.get(user=owner)
    assert (row.name, row.prefix) == ("greenhouse-pi", token[:10])
    assert token_client(token).get("/api/streams/").status_code == 200

    listing = browser.get(TOKENS).content.decode()
    assert token not in listing
    assert "greenhouse-pi" in listing and f"{row.prefix}…" in listing
    assert "never" in listing


def test_the_list_shows_last_use_after_the_token_is_used(owner: Any) -> None:
    token = ApiToken.objects.issue(user=owner, name="telegraf")[1]
    token_client(token).get("/api/streams/")
    row = ApiToken.objects.get(user=owner)
    assert row.last_used is not None
    listing = logged_in(owner).get(TOKENS).content.decode()
    assert re.search(r"<td>.*ago</time></td>", listing)


def test_a_token_needs_a_name_of_at_most_100_characters(owner: Any) -> None:
    browser = logged_in(owner)
    for name in ("", "   ", "x" * 101):
        response = browser.post(TOKENS, {"name": name})
        assert response.status_code == 400
        assert 'aria-invalid="true"' in response.content.decode()
    assert not ApiToken.objects.exists()


def test_one_user_may_keep_at_most_50_tokens(owner: Any) -> None:
    for number in range(50):
        ApiToken.objects.issue(user=owner, name=f"t{number}")
    response = logged_in(owner).post(TOKENS, {"name": "one more"})
    assert response.status_code == 400
    assert "50 tokens already" in response.content.decode()


def test_each_user_sees_only_their_own_tokens(owner: Any, outsider: Any) -> None:
    ApiToken.objects.issue(user=outsider, name="mallorys-secret-box")
    assert "mallorys-secret-box" not in logged_in(owner).get(TOKENS).content.decode()


def test_revoking_deletes_the_token_and_the_api_refuses_it(owner: Any) -> None:
    row, token = ApiToken.objects.issue(user=owner, name="old")
    browser = logged_in(owner)
    response = browser.post(f"{TOKENS}{row.pk}/revoke/", follow=True)
    assert "“old” is revoked" in response.content.decode()
    assert not ApiToken.objects.filter(pk=row.pk).exists()
    assert token_client(token).get("/api/streams/").status_code == 401


def test_revoking_from_the_page_script_answers_the_panel(owner: Any) -> None:
    row = ApiToken.objects.issue(user=owner, name="old")[0]
    response = logged_in(owner).post(f"{TOKENS}{row.pk}/revoke/", HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert 'id="tokens-notice"' in response.content.decode()


def test_nobody_revokes_another_users_token(owner: Any, outsider: Any) -> None:
    row = ApiToken.objects.issue(user=outsider, name="theirs")[0]
    assert logged_in(owner).post(f"{TOKENS}{row.pk}/revoke/").status_code == 404
    assert ApiToken.objects.filter(pk=row.pk).exists()


def test_forms_need_their_csrf_token(owner: Any) -> None:
    row = ApiToken.objects.issue(user=owner, name="kept")[0]
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(owner)
    assert browser.post(TOKENS, {"name": "forged"}).status_code == 403
    assert browser.post(f"{TOKENS}{row.pk}/revoke/").status_code == 403
    assert list(ApiToken.objects.values_list("name", flat=True)) == ["kept"]


def test_a_token_does_not_open_the_page_and_anonymous_users_are_sent_to_log_in(
    owner: Any,
) -> None:
    token = ApiToken.objects.issue(user=owner, name="script")[1]
    for client in (Client(), token_client(token)):
        response = client.get(TOKENS)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert token_client(token).post(TOKENS, {"name": "by script"}).status_code in (302, 403)
    assert ApiToken.objects.count() == 1


def test_the_account_menu_links_the_page(owner: Any) -> None:
    assert f'href="{TOKENS}"' in logged_in(owner).get("/streams/new/").content.decode()
