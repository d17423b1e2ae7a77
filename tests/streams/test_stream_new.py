"""Making a stream of one's own: the "New stream" page and POST /api/streams/."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from django.test import Client

from streams.models import Sample, Stream
from tests.support.web import INGEST, logged_in, post_json, token_client

pytestmark = pytest.mark.django_db

GREENHOUSE = {"slug": "greenhouse.2", "title": "Greenhouse 2", "source_kind": "push"}


def test_the_page_makes_a_private_push_stream_of_the_users(owner: Any) -> None:
    browser = logged_in(owner)
    assert browser.get("/streams/new/").status_code == 200
    response = browser.post(
        "/streams/new/",
        {**GREENHOUSE, "fields": "temperature °C\nhumidity %", "retention_days": "2"},
    )
    assert response.status_code == 302
    stream = Stream.objects.get(slug="greenhouse.2")
    assert stream.owner == owner and not stream.is_public and stream.running
    assert stream.fields == [
        {"name": "temperature", "unit": "°C", "type": "number"},
        {"name": "humidity", "unit": "%", "type": "number"},
    ]
    assert stream.retention_seconds == 2 * 86_400


def test_the_page_says_what_is_wrong_and_makes_nothing(owner: Any) -> None:
    response = logged_in(owner).post(
        "/streams/new/", {"slug": "no spaces", "title": "", "source_kind": "push"}
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "letters, digits" in page.lower() and "Give the stream a title" in page
    assert not Stream.objects.filter(title="").exists()


@pytest.mark.django_db(transaction=True)  # a push goes through database_sync_to_async
def test_the_api_makes_a_stream_its_owner_pushes_to_and_nobody_else_sees(
    owner: Any, owner_token: str, outsider: Any
) -> None:
    client = token_client(owner_token)
    response = post_json(client, "/api/streams/", {**GREENHOUSE, "slug": "push.alice"})
    assert response.status_code == 201
    assert response.json()["public"] is False and response.json()["owner"] == "alice"
    pushed = post_json(client, INGEST, {"samples": [{"values": {"value": 1.5}}]})
    assert pushed.status_code == 201
    assert logged_in(outsider).get("/api/streams/push.alice/history?from=0").status_code == 404


@pytest.mark.parametrize(
    "body,status,code",
    [
        ({**GREENHOUSE, "public": "yes"}, 400, "invalid_field"),
        ({**GREENHOUSE, "retention_seconds": True}, 400, "invalid_field"),
        ({**GREENHOUSE, "colour": "red"}, 400, "invalid_field"),
        ({"title": "No slug", "source_kind": "push"}, 400, "invalid_field"),
        ({**GREENHOUSE, "source_kind": "volcano"}, 400, "invalid_field"),
        ({**GREENHOUSE, "source_kind": "system"}, 400, "invalid_field"),
        ({**GREENHOUSE, "source_kind": "sine", "settings": {"rate": -5}}, 400, "invalid_field"),
        ({**GREENHOUSE, "fields": [{"name": "a"}, {"name": "a"}]}, 400, "invalid_field"),
        ({**GREENHOUSE, "fields": [{"name": "a", "type": "string"}]}, 400, "invalid_field"),
        ({**GREENHOUSE, "fields": [{"name": "a", "type": "book"}]}, 400, "invalid_field"),
        ({**GREENHOUSE, "fields": [{"name": "a", "type": None}]}, 400, "invalid_field"),
        ({**GREENHOUSE, "fields": [{"name": "a", "typ": "text"}]}, 400, "invalid_field"),
        ({**GREENHOUSE, "source_kind": "replay", "settings": {"source": "nope", "from": 0, "to": 1}}, 400, "invalid_field"),
    ],
)  # fmt: skip
def test_a_bad_request_makes_nothing_and_says_why(
    owner_token: str, body: dict[str, Any], status: int, code: str
) -> None:
    response = post_json(token_client(owner_token), "/api/streams/", body)
    assert response.status_code == status
    assert response.json()["error"]["code"] == code
    assert not Stream.objects.filter(title__in=["Greenhouse 2", "No slug"]).exists()


def test_nulls_take_the_defaults(owner_token: str) -> None:
    body = {
        **GREENHOUSE,
        "retention_seconds": None,
        "public": None,
        "fields": None,
        "settings": None,
    }
    response = post_json(token_client(owner_token), "/api/streams/", body)
    assert response.status_code == 201
    assert response.json()["retention_seconds"] == 7 * 86_400 and response.json()["public"] is False


def test_a_slug_is_taken_once(owner_token: str) -> None:
    client = token_client(owner_token)
    assert post_json(client, "/api/streams/", GREENHOUSE).status_code == 201
    again = post_json(client, "/api/streams/", GREENHOUSE)
    assert again.status_code == 409 and again.json()["error"]["code"] == "slug_taken"


def test_a_user_has_a_bounded_number_of_streams(owner_token: str, settings: Any) -> None:
    settings.PULSEBOARD_MAX_STREAMS_PER_USER = 1
    client = token_client(owner_token)
    assert post_json(client, "/api/streams/", GREENHOUSE).status_code == 201
    second = post_json(client, "/api/streams/", {**GREENHOUSE, "slug": "greenhouse.3"})
    assert (
        second.status_code == 400
        and "the most one user may have" in second.json()["error"]["message"]
    )


def test_a_stream_with_a_source_starts_running(owner_token: str) -> None:
    body = {**GREENHOUSE, "slug": "sine.mine", "source_kind": "sine", "settings": {"rate": 10}}
    response = post_json(token_client(owner_token), "/api/streams/", body)
    assert response.status_code == 201
    assert response.json()["running"] is True
    assert [f["name"] for f in response.json()["fields"]] == ["value"]


def test_anonymous_makes_nothing() -> None:
    from django.test import Client

    assert post_json(Client(), "/api/streams/", GREENHOUSE).status_code == 401
    assert Client().get("/streams/new/").status_code == 302


def test_the_page_declares_text_fields(owner: Any) -> None:
    page = logged_in(owner).get("/streams/new/").content.decode()
    assert "status text" in page  # the form says how to declare one
    response = logged_in(owner).post(
        "/streams/new/", {**GREENHOUSE, "fields": "temperature °C\nstatus text\ncount"}
    )
    assert response.status_code == 302
    assert Stream.objects.get(slug="greenhouse.2").fields == [
        {"name": "temperature", "unit": "°C", "type": "number"},
        {"name": "status", "unit": "", "type": "text"},
        {"name": "count", "unit": "", "type": "number"},
    ]


def test_the_api_makes_fields_of_either_type_and_describes_them(owner_token: str) -> None:
    fields = [
        {"name": "temperature", "unit": "°C", "type": "number"},
        {"name": "status", "type": "text"},
        {"name": "count"},
    ]
    response = post_json(
        token_client(owner_token), "/api/streams/", {**GREENHOUSE, "fields": fields}
    )
    assert response.status_code == 201
    assert response.json()["fields"] == [
        {"name": "temperature", "unit": "°C", "type": "number"},
        {"name": "status", "type": "text"},
        {"name": "count", "type": "number"},
    ]


def test_a_field_of_an_unknown_type_is_named_in_the_refusal(owner_token: str) -> None:
    fields = [{"name": "temperature", "unit": "°C"}, {"name": "status", "type": "string"}]
    response = post_json(
        token_client(owner_token), "/api/streams/", {**GREENHOUSE, "fields": fields}
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_field"
    assert "fields[1].type" in error["message"] and "'status'" in error["message"]
    assert '"number" or "text"' in error["message"]
    assert not Stream.objects.filter(slug="greenhouse.2").exists()


@pytest.mark.django_db(transaction=True)  # a push goes through database_sync_to_async
def test_pushed_values_must_match_the_declared_types(owner_token: str) -> None:
    client = token_client(owner_token)
    fields = [{"name": "temperature", "unit": "°C"}, {"name": "status", "type": "text"}]
    post_json(client, "/api/streams/", {**GREENHOUSE, "fields": fields})
    samples = "/api/streams/greenhouse.2/samples"

    hot = post_json(client, samples, {"samples": [{"values": {"temperature": "hot"}}]})
    assert hot.status_code == 400
    assert hot.json()["error"]["code"] == "invalid_field"
    assert "temperature must be a number" in hot.json()["error"]["message"]
    five = post_json(client, samples, {"samples": [{"values": {"status": 5}}]})
    assert five.status_code == 400 and "status must be text" in five.json()["error"]["message"]
    fine = post_json(
        client, samples, {"samples": [{"values": {"temperature": 21.5, "status": "ok"}}]}
    )
    assert fine.status_code == 201 and fine.json()["stored"] == 1
    stored = Sample.objects.filter(stream__slug="greenhouse.2").values_list("values", flat=True)
    assert list(stored) == [{"temperature": 21.5, "status": "ok"}]


def test_a_script_with_a_token_makes_a_stream_without_a_csrf_token(owner_token: str) -> None:
    script = Client(enforce_csrf_checks=True, HTTP_AUTHORIZATION=f"Token {owner_token}")
    response = post_json(script, "/api/streams/", GREENHOUSE)
    assert response.status_code == 201
    assert Stream.objects.filter(slug="greenhouse.2").exists()


def test_a_browser_session_makes_a_stream_only_with_its_csrf_token(owner: Any) -> None:
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(owner)
    refused = post_json(browser, "/api/streams/", GREENHOUSE)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "csrf_failed"
    assert not Stream.objects.filter(slug="greenhouse.2").exists()
    browser.get("/streams/new/")  # the form page sets the CSRF cookie, as in a browser
    made = browser.post(
        "/api/streams/",
        data=orjson.dumps(GREENHOUSE),
        content_type="application/json",
        HTTP_X_CSRFTOKEN=browser.cookies["csrftoken"].value,
    )
    assert made.status_code == 201
