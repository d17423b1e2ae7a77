"""/api/schema.json: valid OpenAPI 3.1, in step with the URLconf and the views, and true of real answers."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from typing import Any

import jsonschema
import orjson
import pytest
from asgiref.sync import async_to_sync
from django.http import HttpResponse, HttpResponseServerError
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from schemathesis.specs.openapi.definitions import OPENAPI_31

from streams.http import export, history, raw
from streams.http.errors import ApiErrorMiddleware
from streams.http.openapi import OPERATIONS
from streams.models import Stream
from tests.processes import ROOT

pytestmark = pytest.mark.django_db
EPOCH_MS = 1_700_000_000_000
# Routes that are documents about the API, not the API itself.
NOT_OPERATIONS = {"api-schema", "api-asyncapi", "api-docs"}


@pytest.fixture
def document(client: Client) -> dict[str, Any]:
    response = client.get("/api/schema.json")
    assert response.status_code == 200
    return response.json()


def logged_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


async def streamed(response: Any) -> bytes:
    return b"".join([chunk async for chunk in response.streaming_content])


def answer_check(document: dict[str, Any], path: str, method: str, response: Any) -> None:
    """Fail unless the document declares this status for the operation and the body fits it."""
    declared = document["paths"][path][method]["responses"]
    status = str(response.status_code)
    assert status in declared, f"{method.upper()} {path} answered {status}, not declared"
    content = declared[status]["content"]
    media = response["Content-Type"].split(";")[0]
    assert media in content, f"{method.upper()} {path} answered {media}, not declared"
    if media == "application/json":
        body = orjson.loads(
            async_to_sync(streamed)(response) if response.streaming else response.content
        )
        schema = {**content[media]["schema"], "components": document["components"]}
        jsonschema.validate(body, schema, cls=jsonschema.Draft202012Validator)


def test_it_is_valid_openapi_3_1(document: dict[str, Any]) -> None:
    jsonschema.validate(document, OPENAPI_31, cls=jsonschema.Draft202012Validator)
    for name, schema in document["components"]["schemas"].items():
        jsonschema.Draft202012Validator.check_schema(schema), name


def routes(patterns: list[Any], prefix: str = "") -> Iterator[tuple[str, str | None]]:
    """Yield (route, name) of every URL pattern, included ones too."""
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from routes(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            yield prefix + str(pattern.pattern), pattern.name


def test_every_api_route_is_described_and_every_operation_routed() -> None:
    api_routes = {
        name
        for route, name in routes(get_resolver().url_patterns)
        if route.startswith("api/") or name in ("healthz", "metrics")
    }
    described = {operation.url_name for operation in OPERATIONS}
    assert api_routes - NOT_OPERATIONS == described


def test_query_parameters_are_the_ones_the_views_parse(document: dict[str, Any]) -> None:
    def names(path: str) -> list[str]:
        parameters = document["paths"][path]["get"]["parameters"]
        return [p["name"] for p in parameters if p["in"] == "query"]

    assert names("/api/streams/{slug}/history") == [p.name for p in history.PARAMETERS]
    assert names("/api/streams/{slug}/export.csv") == [p.name for p in export.PARAMETERS]
    assert names("/api/streams/{slug}/export.json") == [p.name for p in export.PARAMETERS]
    assert names("/api/streams/{slug}/samples") == [p.name for p in raw.PARAMETERS]


def query_names_read(source: str) -> list[str]:
    """Return the names `source` reads with `request.GET.get("<name>")`; "?" for any other read."""
    tree = ast.parse(source)
    reads = [
        node for node in ast.walk(tree) if isinstance(node, ast.Attribute) and node.attr == "GET"
    ]
    names = [
        str(node.args[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "get"
        and isinstance(node.func.value, ast.Attribute)
        and node.func.value.attr == "GET"
        and node.args
        and isinstance(node.args[0], ast.Constant)
    ]
    return names + ["?"] * (len(reads) - len(names))


def test_every_query_parameter_a_view_reads_is_declared(document: dict[str, Any]) -> None:
    declared = {
        parameter["name"]
        for path in document["paths"].values()
        for operation in path.values()
        for parameter in operation["parameters"]
        if parameter["in"] == "query"
    } | {
        scheme["name"]
        for scheme in document["components"]["securitySchemes"].values()
        if scheme.get("in") == "query"
    }
    read = {
        name
        for path in (ROOT / "streams" / "http").glob("*.py")
        if path.name != "params.py"  # an IntQuery reads its declared name
        for name in query_names_read(path.read_text())
    }
    assert read <= declared


@pytest.mark.django_db(transaction=True)  # a push goes through database_sync_to_async
def test_real_answers_match_it(
    document: dict[str, Any], owner: Any, staff: Any, push_stream: Stream, private_stream: Stream
) -> None:
    alice, olivia, anonymous = logged_in(owner), logged_in(staff), Client()
    range_query = {"from": EPOCH_MS, "to": EPOCH_MS + 60_000}
    answers = [
        ("/api/streams/", "get", alice.get("/api/streams/")),
        ("/api/streams/", "get", anonymous.get("/api/streams/")),
        ("/api/streams/", "get", alice.delete("/api/streams/")),
        (
            "/api/streams/{slug}/samples",
            "post",
            alice.post(
                "/api/streams/push.alice/samples",
                {"samples": [{"t": EPOCH_MS, "values": {"value": 1.5}}]},
                content_type="application/json",
            ),
        ),
        (
            "/api/streams/{slug}/samples",
            "post",
            alice.post("/api/streams/push.alice/samples", "{", content_type="application/json"),
        ),
        (
            "/api/streams/{slug}/history",
            "get",
            alice.get("/api/streams/push.alice/history", range_query | {"points": 10}),
        ),
        (
            "/api/streams/{slug}/history",
            "get",
            alice.get("/api/streams/push.alice/history", {"points": "ten"}),
        ),
        (
            "/api/streams/{slug}/samples",
            "get",
            alice.get("/api/streams/push.alice/samples", range_query | {"limit": 1}),
        ),
        (
            "/api/streams/{slug}/samples",
            "get",
            anonymous.get("/api/streams/push.alice/samples", {"share": "no-such-link"}),
        ),
        (
            "/api/streams/{slug}/history",
            "get",
            alice.get("/api/streams/nothing.here/history"),
        ),
        (
            "/api/streams/{slug}/export.json",
            "get",
            alice.get("/api/streams/push.alice/export.json", range_query),
        ),
        (
            "/api/streams/{slug}/export.csv",
            "get",
            alice.get("/api/streams/push.alice/export.csv", range_query),
        ),
        ("/api/stats", "get", alice.get("/api/stats")),
        ("/api/stats", "get", anonymous.get("/api/stats")),
        ("/healthz", "get", anonymous.get("/healthz")),
        ("/metrics", "get", olivia.get("/metrics")),
        ("/metrics", "get", alice.get("/metrics")),
        ("/metrics", "get", anonymous.get("/metrics")),
    ]
    for path, method, response in answers:
        answer_check(document, path, method, response)


# -- errors as the contract says ------------------------------------------------


def error_code(response: Any) -> str:
    assert response["Content-Type"] == "application/json", response.content[:200]
    return orjson.loads(response.content)["error"]["code"]


def test_it_answers_an_unknown_api_url_in_json(client: Client) -> None:
    response = client.get("/api/no-such-thing")
    assert response.status_code == 404
    assert error_code(response) == "not_found"


def test_it_answers_a_wrong_method_in_json_and_names_the_right_one(owner: Any) -> None:
    response = logged_in(owner).put("/api/stats")
    assert response.status_code == 405
    assert error_code(response) == "method_not_allowed"
    assert response["Allow"] == "GET"


def test_a_browser_post_without_its_csrf_token_gets_json(owner: Any, push_stream: Stream) -> None:
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(owner)
    response = browser.post("/api/streams/push.alice/samples", {}, content_type="application/json")
    assert response.status_code == 403
    assert error_code(response) == "csrf_failed"


def test_a_post_with_no_credentials_is_told_to_authenticate(push_stream: Stream) -> None:
    script = Client(enforce_csrf_checks=True)
    response = script.post("/api/streams/push.alice/samples", {}, content_type="application/json")
    assert response.status_code == 401
    assert error_code(response) == "unauthenticated"


@pytest.mark.django_db(transaction=True)  # a push goes through database_sync_to_async
def test_a_token_post_needs_no_csrf_token(owner_token: str, push_stream: Stream) -> None:
    script = Client(enforce_csrf_checks=True, HTTP_AUTHORIZATION=f"Token {owner_token}")
    response = script.post(
        "/api/streams/push.alice/samples",
        {"samples": [{"values": {"value": 1}}]},
        content_type="application/json",
    )
    assert response.status_code == 201


def test_a_crash_under_the_api_is_json(rf: Any) -> None:
    middleware = ApiErrorMiddleware(
        lambda request: HttpResponseServerError("<h1>Server Error</h1>")
    )
    response = middleware(rf.get("/api/stats"))
    assert response.status_code == 500
    assert error_code(response) == "internal"


def test_pages_keep_their_html_errors(rf: Any) -> None:
    middleware = ApiErrorMiddleware(lambda request: HttpResponse("<h1>Not Found</h1>", status=404))
    response = middleware(rf.get("/dashboards/nope"))
    assert response.content == b"<h1>Not Found</h1>"


def test_a_page_post_without_csrf_still_gets_the_html_page(owner: Any) -> None:
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(owner)
    response = browser.post("/accounts/logout/")
    assert response.status_code == 403
    assert response["Content-Type"].startswith("text/html")
