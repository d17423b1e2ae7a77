"""POST /api/v2/write: line protocol stored in streams, answered as InfluxDB answers."""

from __future__ import annotations

import gzip
from typing import Any

import jsonschema
import orjson
import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.test import Client

from streams.clock import now_ms
from streams.http.influx import Failure, write_answer
from streams.metrics import metric_value
from streams.models import ApiToken, SourceKind, Stream
from tests.support.samples import stored_samples
from tests.support.web import logged_in, token_client

# Stored batches go through database_sync_to_async, which closes a test
# transaction's connection: these tests commit for real.
pytestmark = pytest.mark.django_db(transaction=True)
WRITE = "/api/v2/write"
REFUSED = "pulseboard_samples_refused_total"


def write(
    client: Client, body: str | bytes, *, bucket: str = "home", precision: str | None = None,
    **headers: Any,
) -> Any:  # fmt: skip
    query = f"?bucket={bucket}&org=anything" + (f"&precision={precision}" if precision else "")
    data = body.encode() if isinstance(body, str) else body
    return client.post(WRITE + query, data=data, content_type="text/plain", **headers)


def values_of(slug: str) -> list[dict[str, Any]]:
    return [values for _, _, values, _ in stored_samples(Stream.objects.get(slug=slug))]


def test_a_write_makes_the_measurements_stream_and_answers_204(
    owner: Any, owner_token: str
) -> None:
    t = now_ms() - 1000
    body = f'room,floor=2,name=lab temperature=21.5,door=true,count=3i,note="ok" {t}000000\n'
    response = write(token_client(owner_token), body)
    assert response.status_code == 204
    stream = Stream.objects.get(slug="home.room.2.lab")
    assert (stream.owner, stream.source_kind, stream.is_public) == (owner, SourceKind.PUSH, False)
    assert stream.title == "room (floor=2, name=lab)"
    assert [(f["name"], f["type"]) for f in stream.fields] == [
        ("temperature", "number"), ("door", "number"), ("count", "number"), ("note", "text"),
    ]  # fmt: skip
    assert stored_samples(stream) == [
        (1, t, {"temperature": 21.5, "door": 1, "count": 3, "note": "ok"}, [])
    ]


def test_a_bucket_naming_a_push_stream_of_yours_writes_there(
    owner_token: str, push_stream: Stream
) -> None:
    body = 'anything,host=a value=1\nother value=2,label="x"'
    assert write(token_client(owner_token), body, bucket="push.alice").status_code == 204
    assert values_of("push.alice") == [{"value": 1}, {"value": 2, "label": "x"}]
    assert not Stream.objects.filter(slug__startswith="push.alice.").exists()


def test_a_bucket_naming_someone_elses_stream_is_only_a_prefix(
    outsider: Any, push_stream: Stream
) -> None:
    token = ApiToken.objects.issue(user=outsider)[1]
    assert write(token_client(token), "m value=1", bucket="push.alice").status_code == 204
    assert stored_samples(push_stream) == []
    assert Stream.objects.get(slug="push.alice.m").owner == outsider


def test_precision_scales_the_timestamps(owner_token: str) -> None:
    t = now_ms() - 5000
    for precision, stamp in [("s", t // 1000), ("ms", t), ("us", t * 1000), ("ns", t * 10**6)]:
        body = f"p,precision={precision} v=1 {stamp}"
        assert write(token_client(owner_token), body, precision=precision).status_code == 204
        assert stored_samples(Stream.objects.get(slug=f"home.p.{precision}"))[0][1] == (
            t // 1000 * 1000 if precision == "s" else t
        )


def test_points_without_a_time_are_stamped_now_and_out_of_order_ones_sorted(
    owner_token: str,
) -> None:
    t = now_ms() - 10_000
    body = f"m v=2 {t + 2}\nm v=1 {t + 1}\nm v=3"
    assert write(token_client(owner_token), body, precision="ms").status_code == 204
    rows = stored_samples(Stream.objects.get(slug="home.m"))
    assert [(seq, values["v"]) for seq, _, values, _ in rows] == [(1, 1), (2, 2), (3, 3)]
    assert abs(rows[2][1] - now_ms()) < 5000


def test_gzip_bodies_are_read(owner_token: str) -> None:
    body = gzip.compress(b"m v=1\nm v=2\n")
    response = write(token_client(owner_token), body, HTTP_CONTENT_ENCODING="gzip")
    assert response.status_code == 204
    assert values_of("home.m") == [{"v": 1}, {"v": 2}]


def test_a_body_past_the_cap_is_413_zipped_or_not(owner_token: str, settings: Any) -> None:
    settings.PULSEBOARD_LINE_PROTOCOL_MAX_BYTES = 2048
    big = ("m v=1\n" * 400).encode()
    plain = write(token_client(owner_token), big)
    zipped = write(token_client(owner_token), gzip.compress(big), HTTP_CONTENT_ENCODING="gzip")
    for response in (plain, zipped):
        assert response.status_code == 413
        assert response.json()["code"] == "request too large"
    assert not Stream.objects.filter(slug="home.m").exists()


def test_broken_gzip_and_unknown_encodings_are_refused(owner_token: str) -> None:
    broken = write(token_client(owner_token), b"not gzip", HTTP_CONTENT_ENCODING="gzip")
    assert (broken.status_code, broken.json()["code"]) == (400, "invalid")
    other = write(token_client(owner_token), b"m v=1", HTTP_CONTENT_ENCODING="br")
    assert other.status_code == 415


def test_a_partial_write_stores_the_good_lines_and_names_the_first_bad_one(
    owner_token: str,
) -> None:
    body = "m v=1\nm v=oops\nm v=3\nm,t= v=4\n"
    before = metric_value(REFUSED, code="invalid_line")
    response = write(token_client(owner_token), body)
    assert response.status_code == 400
    answer = response.json()
    assert answer["code"] == "invalid"
    assert answer["line"] == 2
    assert answer["message"].startswith("partial write error (2 written): line 2: field 'v'")
    assert "1 more lines refused" in answer["message"]
    assert values_of("home.m") == [{"v": 1}, {"v": 3}]
    assert metric_value(REFUSED, code="invalid_line") == before + 2


def test_a_value_of_the_wrong_type_is_refused_by_its_line_and_field(owner_token: str) -> None:
    assert write(token_client(owner_token), "m temperature=20").status_code == 204
    before = metric_value(REFUSED, code="invalid_field")
    response = write(token_client(owner_token), 'm temperature=21\nm temperature="warm"')
    assert response.status_code == 422
    answer = response.json()
    assert (answer["code"], answer["line"]) == ("unprocessable entity", 2)
    assert "temperature must be a number; got text" in answer["message"]
    assert values_of("home.m") == [{"temperature": 20}, {"temperature": 21}]
    assert metric_value(REFUSED, code="invalid_field") == before + 1


def test_text_is_refused_by_a_declared_number_field_of_a_named_stream(
    owner_token: str, push_stream: Stream
) -> None:
    response = write(token_client(owner_token), 'x value="high"\nx label=5', bucket="push.alice")
    assert response.status_code == 422
    assert "value must be a number; got text" in response.json()["message"]
    assert "1 more lines refused" in response.json()["message"]
    assert stored_samples(push_stream) == []


def test_a_mapped_stream_declares_new_fields_as_they_come(owner_token: str) -> None:
    write(token_client(owner_token), "m a=1")
    write(token_client(owner_token), 'm b="x"')
    fields = Stream.objects.get(slug="home.m").fields
    assert [(f["name"], f["type"]) for f in fields] == [("a", "number"), ("b", "text")]


def test_the_stream_limit_refuses_new_streams_and_names_the_line(
    owner_token: str, settings: Any
) -> None:
    settings.PULSEBOARD_MAX_STREAMS_PER_USER = 1
    response = write(token_client(owner_token), "one v=1\ntwo v=2")
    assert response.status_code == 422
    assert response.json()["line"] == 2
    assert "streams already" in response.json()["message"]
    assert list(Stream.objects.values_list("slug", flat=True)) == ["home.one"]


def test_tags_outside_a_slug_become_dashes_and_long_names_a_hash(owner_token: str) -> None:
    long = "x" * 90
    body = f"disk,path=/var/lib\\ data,host=a v=1\ndisk,host={long} v=2"
    assert write(token_client(owner_token), body).status_code == 204
    slugs = set(Stream.objects.values_list("slug", flat=True))
    assert "home.disk.a.-var-lib-data" in slugs
    hashed = next(slug for slug in slugs if slug.startswith("home.disk.x"))
    assert len(hashed) == 80


def test_a_timestamp_far_in_the_future_is_refused(owner_token: str) -> None:
    response = write(token_client(owner_token), f"m v=1 {now_ms() + 3_600_000}", precision="ms")
    assert response.status_code == 422
    assert "minutes ahead" in response.json()["message"]


def test_written_points_are_fanned_out(owner_token: str, push_stream: Stream) -> None:
    layer: Any = get_channel_layer()
    watcher = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)("stream.push.alice", watcher)
    write(token_client(owner_token), "x value=7 5", bucket="push.alice", precision="ms")
    frame = async_to_sync(layer.receive)(watcher)
    assert orjson.loads(frame["text"])["samples"] == [{"seq": 1, "t": 5, "values": {"value": 7}}]


def test_without_a_token_it_is_401_and_with_a_wrong_one_too(owner: Any) -> None:
    anonymous = write(Client(), "m v=1")
    assert (anonymous.status_code, anonymous.json()["code"]) == (401, "unauthorized")
    assert write(token_client("pb_wrong"), "m v=1").status_code == 401
    assert not Stream.objects.exists()


def test_a_browser_session_needs_its_csrf_token(owner: Any) -> None:
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(owner)
    assert write(browser, "m v=1").status_code == 403
    assert write(logged_in(owner), "m v=1").status_code == 204


@pytest.mark.parametrize(
    ("query", "says"),
    [("?org=x", "`bucket` is required"), ("?bucket=b&precision=h", "`precision` must be")],
)
def test_bad_parameters_are_400(owner_token: str, query: str, says: str) -> None:
    response = token_client(owner_token).post(
        WRITE + query, data=b"m v=1", content_type="text/plain"
    )
    assert response.status_code == 400
    assert says in response.json()["message"]


def test_an_empty_body_or_a_get_is_refused(owner_token: str) -> None:
    assert write(token_client(owner_token), "# nothing\n").status_code == 400
    got = token_client(owner_token).get(WRITE + "?bucket=b")
    assert (got.status_code, got["Allow"]) == (405, "POST")


def test_writing_to_a_stopped_stream_names_why(owner_token: str, push_stream: Stream) -> None:
    Stream.objects.filter(pk=push_stream.pk).update(running=False)
    response = write(token_client(owner_token), "x value=1", bucket="push.alice")
    assert response.status_code == 422
    assert "is stopped" in response.json()["message"]


def test_answers_are_the_ones_the_openapi_document_declares(owner: Any, owner_token: str) -> None:
    document = Client().get("/api/schema.json").json()
    operation = document["paths"]["/api/v2/write"]["post"]
    assert [p["name"] for p in operation["parameters"]] == ["bucket", "org", "precision"]
    assert "text/plain" in operation["requestBody"]["content"]
    script = token_client(owner_token)
    answers = [
        write(script, "m v=1"),
        write(script, "m v=oops"),
        write(script, 'm v="text"'),
        write(Client(), "m v=1"),
        write(token_client("pb_wrong"), "m v=1"),
        write(script, b"x", HTTP_CONTENT_ENCODING="br"),
    ]
    assert [answer.status_code for answer in answers] == [204, 400, 422, 401, 401, 415]
    for answer in answers:
        declared = operation["responses"][str(answer.status_code)]
        if answer.status_code == 204:
            assert "content" not in declared and answer.content == b""
            continue
        schema = declared["content"]["application/json"]["schema"]
        jsonschema.validate(
            answer.json(), {**schema, "components": document["components"]},
            cls=jsonschema.Draft202012Validator,
        )  # fmt: skip


def test_a_busy_database_answers_503_with_retry_after_whatever_failed_first() -> None:
    failures = [Failure(2, "line 2: bad", 400), Failure(5, "line 5: the database is busy", 503, 3)]
    response = write_answer(4, failures)
    assert (response.status_code, response["Retry-After"]) == (503, "1")
    answer = orjson.loads(response.content)
    assert (answer["code"], answer["line"]) == ("unavailable", 5)
    assert answer["message"] == (
        "partial write error (4 written): line 5: the database is busy; 3 more lines refused"
    )
