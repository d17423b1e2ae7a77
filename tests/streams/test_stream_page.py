"""A stream's page: after "Make the stream", the push URL and examples that work as copied."""

from __future__ import annotations

import html
import json
import re
import shlex
import urllib.parse
from typing import Any

import pytest
from django.test import Client

from streams.http.push_examples import TOKEN_PLACEHOLDER, push_examples
from streams.models import ApiToken, SourceKind, Stream
from tests.support.samples import stored_samples
from tests.support.web import logged_in, token_client

pytestmark = pytest.mark.django_db
SITE = "http://testserver"


def example_text(page: str, key: str) -> str:
    found = re.search(rf'id="example-{key}-text"[^>]*>(.*?)</textarea>', page, re.S)
    assert found, f"no {key} example"
    return html.unescape(found.group(1))


def make_stream(browser: Client, fields: str) -> str:
    response = browser.post(
        "/streams/new/",
        {"slug": "greenhouse.2", "title": "Greenhouse 2", "source_kind": "push", "fields": fields},
        follow=True,
    )
    assert response.redirect_chain[-1][0] == "/streams/greenhouse.2/"
    return response.content.decode()


def test_making_a_stream_leads_to_its_page_with_the_push_url_and_examples(owner: Any) -> None:
    page = make_stream(logged_in(owner), "temperature °C\nstatus text")
    assert "greenhouse.2 is yours" in page
    assert f'value="{SITE}/api/streams/greenhouse.2/samples"' in page
    for key in ("curl", "python", "line-protocol"):
        assert TOKEN_PLACEHOLDER in example_text(page, key)
    assert "You have no API token yet" in page
    assert 'id="example-mqtt"' in page and "docs/ingest.md" in page
    assert "temperature" in page and "°C" in page


def test_a_token_made_for_the_examples_is_in_them_once_and_never_again(owner: Any) -> None:
    browser = logged_in(owner)
    make_stream(browser, "value")
    response = browser.post("/streams/greenhouse.2/")
    assert response["Cache-Control"] == "no-store"
    page = response.content.decode()
    token = re.search(r"Token (pb_[A-Za-z0-9_-]+)", example_text(page, "curl"))
    assert token, "no token in the curl example"
    assert ApiToken.objects.get(user=owner).name == "greenhouse.2 push"
    again = browser.get("/streams/greenhouse.2/").content.decode()
    assert token.group(1) not in again and TOKEN_PLACEHOLDER in again
    assert "put in a token you saved" in again


@pytest.mark.django_db(transaction=True)  # a push goes through database_sync_to_async
def test_the_curl_and_line_protocol_examples_store_what_they_say(owner: Any) -> None:
    """Run each example's request as curl would send it: URL, headers and body as quoted."""
    browser = logged_in(owner)
    make_stream(browser, "temperature °C\nstatus text")
    page = browser.post("/streams/greenhouse.2/").content.decode()
    for key, status in (("curl", 201), ("line-protocol", 204)):
        words = shlex.split(example_text(page, key).replace("\\\n", " "))
        url = urllib.parse.urlsplit(words[words.index("-X") + 2])
        headers = [words[i + 1] for i, word in enumerate(words) if word == "-H"]
        token = next(h for h in headers if h.startswith("Authorization: Token "))[21:]
        body = words[-1]
        response = token_client(token).post(
            f"{url.path}?{url.query}", data=body.encode(), content_type="application/json"
        )
        assert response.status_code == status, response.content
    stream = Stream.objects.get(slug="greenhouse.2")
    assert [values for _, _, values, _ in stored_samples(stream)] == [
        {"temperature": 21.5, "status": "ok"}
    ] * 2


def test_the_python_example_is_valid_python_that_pushes_typed_values() -> None:
    fields = [
        {"name": "t", "unit": "°C", "type": "number"},
        {"name": "s", "unit": "", "type": "text"},
    ]
    python = next(
        e
        for e in push_examples(site=SITE, slug="a.b", fields=fields, token="pb_x")
        if e.key == "python"
    )
    compile(python.text, "example.py", "exec")
    assert "URL = 'http://testserver/api/streams/a.b/samples'" in python.text
    assert "TOKEN = 'pb_x'" in python.text
    assert "push({'t': 21.5, 's': 'ok'})" in python.text
    body = json.loads(
        shlex.split(
            next(
                e
                for e in push_examples(site=SITE, slug="a.b", fields=fields, token=None)
                if e.key == "curl"
            ).text.replace("\\\n", " ")
        )[-1]
    )
    assert body == {"samples": [{"values": {"t": 21.5, "s": "ok"}}]}  # fmt: skip


def test_others_see_no_examples_and_may_not_make_tokens_there(
    owner: Any, outsider: Any, push_stream: Stream
) -> None:
    page = logged_in(outsider).get("/streams/push.alice/").content.decode()
    assert "Alice&#x27;s script" in page or "Alice's script" in page
    assert "example-curl" not in page and "Push URL" not in page
    assert logged_in(outsider).post("/streams/push.alice/").status_code == 404
    assert not ApiToken.objects.exists()


def test_a_private_stream_is_not_found_by_others_and_a_sensor_shows_no_push(
    owner: Any, outsider: Any, private_stream: Stream
) -> None:
    assert logged_in(outsider).get("/streams/sensors.alice/").status_code == 404
    assert logged_in(owner).get("/streams/nothing.here/").status_code == 404
    page = logged_in(owner).get("/streams/sensors.alice/").content.decode()
    assert private_stream.source_kind == SourceKind.SENSOR and "Push URL" not in page


def test_the_page_needs_a_login(push_stream: Stream) -> None:
    response = Client().get("/streams/push.alice/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
