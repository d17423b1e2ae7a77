"""The HTTP API: stream list, ingest, stats, health and metrics."""

from __future__ import annotations

import re
import time
from typing import Any

import orjson
import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.test import Client

from streams.contract import sample_frame
from streams.history.store import history_append
from streams.models import ApiToken, Sample, SourceKind, Stream
from tests.conftest import free_port

pytestmark = pytest.mark.django_db
# A batch that gets as far as being stored goes through database_sync_to_async, which
# closes the connection of a test transaction: those tests commit for real.
stores = pytest.mark.django_db(transaction=True)

INGEST = "/api/streams/push.alice/samples"


def now_ms() -> int:
    return int(time.time() * 1000)


def logged_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def token_client(token: str) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Token {token}")


def post_json(client: Client, url: str, body: Any) -> Any:
    raw = body if isinstance(body, bytes) else orjson.dumps(body)
    return client.post(url, data=raw, content_type="application/json")


def stored(stream: Stream) -> list[tuple[int, int, dict[str, Any], list[str]]]:
    return list(
        Sample.objects.filter(stream=stream)
        .order_by("seq")
        .values_list("seq", "t", "values", "flags")
    )


def metric(text: str, name: str, **labels: str) -> float:
    """Return the value of one series in Prometheus text, 0 when it is absent."""
    label_text = ",".join(f'{key}="{value}"' for key, value in sorted(labels.items()))
    series = f"{name}{{{label_text}}}" if labels else name
    for line in text.splitlines():
        if line.startswith(series + " "):
            return float(line.split()[-1])
    return 0.0


@pytest.fixture
def mallory_private(outsider: Any) -> Stream:
    return Stream.objects.create(
        slug="sensors.mallory",
        title="Mallory's sensor",
        source_kind=SourceKind.SENSOR,
        owner=outsider,
    )


@pytest.fixture
def public_sine(staff: Any) -> Stream:
    return Stream.objects.create(
        slug="sine.public",
        title="Everyone's sine",
        source_kind=SourceKind.SINE,
        is_public=True,
        fields=[{"name": "value", "unit": ""}],
    )


# -- /api/streams/ ------------------------------------------------------------


def test_it_lists_the_streams_alice_may_read(
    owner: Any,
    private_stream: Stream,
    push_stream: Stream,
    public_sine: Stream,
    mallory_private: Stream,
) -> None:
    response = logged_in(owner).get("/api/streams/")
    assert response.status_code == 200
    slugs = [stream["slug"] for stream in response.json()["streams"]]
    assert slugs == ["push.alice", "sensors.alice", "sine.public"]


def test_it_describes_each_stream(owner: Any, private_stream: Stream) -> None:
    (stream,) = logged_in(owner).get("/api/streams/").json()["streams"]
    assert stream == {
        "slug": "sensors.alice",
        "title": "Alice's sensor",
        "fields": [{"name": "temperature", "unit": "°C"}],
        "source_kind": "sensor",
        "running": False,
        "public": False,
        "owner": "alice",
        "retention_seconds": 7 * 24 * 3600,
    }


def test_it_rejects_other_users_private_streams_from_the_list(
    outsider: Any, private_stream: Stream, push_stream: Stream, mallory_private: Stream
) -> None:
    slugs = [s["slug"] for s in logged_in(outsider).get("/api/streams/").json()["streams"]]
    assert slugs == ["push.alice", "sensors.mallory"]


def test_staff_see_every_stream(
    staff: Any, private_stream: Stream, push_stream: Stream, mallory_private: Stream
) -> None:
    slugs = [s["slug"] for s in logged_in(staff).get("/api/streams/").json()["streams"]]
    assert slugs == ["push.alice", "sensors.alice", "sensors.mallory"]


def test_it_accepts_a_token_header(owner_token: str, private_stream: Stream) -> None:
    response = token_client(owner_token).get("/api/streams/")
    assert response.status_code == 200
    assert [s["slug"] for s in response.json()["streams"]] == ["sensors.alice"]
    assert ApiToken.objects.get().last_used is not None


@pytest.mark.parametrize("token", ["pb_wrong", "", "x" * 300])
def test_it_refuses_a_bad_token_with_json(owner_token: str, token: str) -> None:
    response = token_client(token).get("/api/streams/")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_token"


def test_it_refuses_anonymous_callers_with_json(private_stream: Stream) -> None:
    response = Client().get("/api/streams/")
    assert response.status_code == 401
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"]["code"] == "unauthenticated"


def test_the_list_is_read_only(owner: Any) -> None:
    assert logged_in(owner).post("/api/streams/").status_code == 405


# -- POST /api/streams/<slug>/samples ----------------------------------------------


@stores
def test_a_token_ingests_samples_and_gets_their_seqs(owner_token: str, push_stream: Stream) -> None:
    t = now_ms()
    body = {
        "samples": [
            {"t": t - 20, "values": {"value": 1.5}},
            {"t": t - 10, "values": {"value": 2, "label": "warm"}, "flags": ["anomaly"]},
            {"values": {"value": -3}},
        ]
    }
    response = post_json(token_client(owner_token), INGEST, body)
    assert response.status_code == 201
    assert response.json() == {"stream": "push.alice", "stored": 3, "first": 1, "last": 3}
    rows = stored(push_stream)
    assert rows[:2] == [
        (1, t - 20, {"value": 1.5}, []),
        (2, t - 10, {"value": 2, "label": "warm"}, ["anomaly"]),
    ]
    seq, t_now, values, _ = rows[2]
    assert (seq, values) == (3, {"value": -3})
    assert abs(t_now - now_ms()) < 5000

    again = post_json(token_client(owner_token), INGEST, {"samples": [{"values": {"value": 4}}]})
    assert (again.json()["first"], again.json()["last"]) == (4, 4)


@stores
def test_ingested_samples_are_fanned_out(owner_token: str, push_stream: Stream) -> None:
    layer: Any = get_channel_layer()
    watcher = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)("stream.push.alice", watcher)
    post_json(token_client(owner_token), INGEST, {"samples": [{"t": 5, "values": {"value": 1}}]})
    frame = async_to_sync(layer.receive)(watcher)
    assert (frame["type"], frame["first"], frame["last"]) == ("stream.frame", 1, 1)
    assert orjson.loads(frame["text"]) == {
        "type": "data",
        "stream": "push.alice",
        "samples": [{"seq": 1, "t": 5, "values": {"value": 1}}],
    }


@stores
def test_the_owner_may_ingest_from_a_logged_in_session(owner: Any, push_stream: Stream) -> None:
    response = post_json(logged_in(owner), INGEST, {"samples": [{"values": {"value": 1}}]})
    assert response.status_code == 201


@stores
def test_a_session_post_without_a_csrf_token_is_refused(owner: Any, push_stream: Stream) -> None:
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(owner)
    response = browser.post(
        INGEST, data=b'{"samples": [{"values": {"value": 666}}]}', content_type="text/plain"
    )
    assert response.status_code == 403
    assert stored(push_stream) == []


@stores
def test_a_script_with_a_token_needs_no_csrf_token(owner_token: str, push_stream: Stream) -> None:
    script = Client(enforce_csrf_checks=True, HTTP_AUTHORIZATION=f"Token {owner_token}")
    response = post_json(script, INGEST, {"samples": [{"values": {"value": 1}}]})
    assert response.status_code == 201


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (b"{", 400, "invalid_json"),
        (b"", 400, "invalid_json"),
        (b'{"samples": [{"values": {"value": NaN}}]}', 400, "invalid_json"),
        ('"hello"', 400, "invalid_field"),
        ({"samples": "1,2,3"}, 400, "invalid_field"),
        ({"samples": []}, 400, "invalid_field"),
        ({"data": [{"values": {"value": 1}}]}, 400, "invalid_field"),
        ({"samples": [{"values": {"value": 1}}, {"t": 1}]}, 400, "invalid_field"),
        ({"samples": [{"values": {"value": 1}}, {"flags": []}]}, 400, "missing_field"),
        ({"samples": [{"values": {"value": 1}}, {"values": []}]}, 400, "invalid_field"),
        ({"samples": [{"values": {"value": 1}}, {"values": {}}]}, 400, "invalid_field"),
        ({"samples": [{"values": {"value": 1}}, 7]}, 400, "invalid_field"),
        ({"samples": [{"values": {"value": 1}, "colour": "red"}]}, 400, "invalid_field"),
        ({"samples": [{"values": {"humidity": 1}}]}, 400, "invalid_field"),
        ({"samples": [{"values": {"value": True}}]}, 400, "invalid_field"),
        ({"samples": [{"values": {"value": None}}]}, 400, "invalid_field"),
        ({"samples": [{"values": {"value": [1]}}]}, 400, "invalid_field"),
        ({"samples": [{"values": {"value": {"a": 1}}}]}, 400, "invalid_field"),
        ({"samples": [{"values": {"label": "x" * 201}}]}, 400, "invalid_field"),
        ({"samples": [{"t": "now", "values": {"value": 1}}]}, 400, "invalid_field"),
        ({"samples": [{"t": 1.5, "values": {"value": 1}}]}, 400, "invalid_field"),
        ({"samples": [{"t": True, "values": {"value": 1}}]}, 400, "invalid_field"),
        ({"samples": [{"t": -1, "values": {"value": 1}}]}, 400, "invalid_field"),
        ({"samples": [{"values": {"value": 1}, "flags": "anomaly"}]}, 400, "invalid_field"),
        ({"samples": [{"values": {"value": 1}, "flags": [""]}]}, 400, "invalid_field"),
        ({"samples": [{"values": {"value": 1}, "flags": ["a"] * 9}]}, 400, "invalid_field"),
        ({"samples": [{"values": {"value": 1}, "flags": [3]}]}, 400, "invalid_field"),
    ],
)
def test_a_bad_body_is_refused_and_nothing_is_stored(
    owner_token: str, push_stream: Stream, body: Any, status: int, code: str
) -> None:
    response = post_json(token_client(owner_token), INGEST, body)
    assert response.status_code == status
    assert response.json()["error"]["code"] == code
    assert response.json()["error"]["message"]
    assert stored(push_stream) == []


def test_a_batch_out_of_order_is_refused_whole(owner_token: str, push_stream: Stream) -> None:
    t = now_ms()
    samples = [{"t": t, "values": {"value": 1}}, {"t": t - 1, "values": {"value": 2}}]
    response = post_json(token_client(owner_token), INGEST, {"samples": samples})
    assert response.status_code == 400
    assert "samples[1].t" in response.json()["error"]["message"]
    assert stored(push_stream) == []


@stores
def test_a_batch_older_than_the_stored_history_is_refused(
    owner_token: str, push_stream: Stream
) -> None:
    t = now_ms()
    history_append({push_stream.pk: [sample_frame(1, t, {"value": 1})]})
    samples = [{"t": t - 1000, "values": {"value": 2}}, {"t": t + 1, "values": {"value": 3}}]
    response = post_json(token_client(owner_token), INGEST, {"samples": samples})
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "invalid_field"
    assert [row[0] for row in stored(push_stream)] == [1]


def test_a_batch_from_the_future_is_refused(owner_token: str, push_stream: Stream) -> None:
    samples = [{"t": now_ms() + 10 * 60 * 1000, "values": {"value": 1}}]
    response = post_json(token_client(owner_token), INGEST, {"samples": samples})
    assert response.status_code == 400
    assert "future" in response.json()["error"]["message"]
    assert stored(push_stream) == []


@stores
def test_a_batch_over_the_limit_is_too_large(
    owner_token: str, push_stream: Stream, settings: Any
) -> None:
    settings.PULSEBOARD_MAX_INGEST_BATCH = 10
    samples = [{"values": {"value": i}} for i in range(11)]
    response = post_json(token_client(owner_token), INGEST, {"samples": samples})
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "too_large"
    assert stored(push_stream) == []
    ok = post_json(token_client(owner_token), INGEST, {"samples": samples[:10]})
    assert ok.status_code == 201


def test_it_rejects_ingest_to_other_users_push_stream(outsider: Any, push_stream: Stream) -> None:
    token = ApiToken.objects.issue(user=outsider)[1]
    response = post_json(token_client(token), INGEST, {"samples": [{"values": {"value": 1}}]})
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"
    assert stored(push_stream) == []


def test_it_hides_other_users_private_streams_from_ingest(
    outsider: Any, owner: Any, push_stream: Stream
) -> None:
    Stream.objects.filter(pk=push_stream.pk).update(is_public=False)
    response = post_json(logged_in(outsider), INGEST, {"samples": [{"values": {"value": 1}}]})
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "unknown_stream"
    assert stored(push_stream) == []


@stores
def test_staff_may_ingest_to_any_push_stream(staff: Any, push_stream: Stream) -> None:
    response = post_json(logged_in(staff), INGEST, {"samples": [{"values": {"value": 1}}]})
    assert response.status_code == 201


def test_ingest_to_a_stream_with_a_source_is_a_conflict(
    owner_token: str, private_stream: Stream
) -> None:
    response = post_json(
        token_client(owner_token),
        "/api/streams/sensors.alice/samples",
        {"samples": [{"values": {"temperature": 20}}]},
    )
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "not_push_stream"
    assert stored(private_stream) == []


def test_ingest_to_an_unknown_stream(owner_token: str) -> None:
    response = post_json(token_client(owner_token), "/api/streams/nope/samples", {"samples": []})
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "unknown_stream"


def test_anonymous_ingest_is_refused(push_stream: Stream) -> None:
    response = post_json(Client(), INGEST, {"samples": [{"values": {"value": 1}}]})
    assert response.status_code == 401
    assert stored(push_stream) == []


def test_ingest_with_a_bad_token_is_refused(owner_token: str, push_stream: Stream) -> None:
    response = post_json(token_client("pb_forged"), INGEST, {"samples": [{"values": {"value": 1}}]})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_token"
    assert stored(push_stream) == []


def test_ingest_only_takes_posts(owner_token: str, push_stream: Stream) -> None:
    assert token_client(owner_token).get(INGEST).status_code == 405


# -- /api/stats ---------------------------------------------------------------


def test_stats_give_each_streams_rate_and_last_seq(
    owner: Any, private_stream: Stream, public_sine: Stream
) -> None:
    t = now_ms()
    history_append(
        {
            public_sine.pk: [
                sample_frame(seq, t - 9000 + seq * 100, {"value": 0}) for seq in range(1, 31)
            ],
            private_stream.pk: [sample_frame(1, t - 60_000, {"temperature": 20})],
        }
    )
    response = logged_in(owner).get("/api/stats")
    assert response.status_code == 200
    body = response.json()
    assert abs(body["server_time"] - t) < 5000
    assert body["connections"] == 0
    rows = {row["slug"]: row for row in body["streams"]}
    assert rows["sine.public"] == {
        "slug": "sine.public",
        "running": True,
        "rate": 3.0,
        "last_seq": 30,
        "viewers": {"connections": 0, "users": 0},
    }
    assert (rows["sensors.alice"]["rate"], rows["sensors.alice"]["last_seq"]) == (0, 1)


def test_anonymous_stats_show_only_public_streams(
    private_stream: Stream, public_sine: Stream
) -> None:
    response = Client().get("/api/stats")
    assert [row["slug"] for row in response.json()["streams"]] == ["sine.public"]


# -- /healthz and /metrics ---------------------------------------------------------


def test_healthz_reports_the_database_and_channel_layer() -> None:
    response = Client().get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "channel_layer": "ok"}


def test_healthz_reports_redis_through_the_channel_layer(redis_layer: str) -> None:
    response = Client().get("/healthz")
    assert response.status_code == 200
    assert response.json()["channel_layer"] == "ok"


def test_healthz_is_unhealthy_when_redis_is_unreachable(settings: Any) -> None:
    from channels.layers import channel_layers

    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "streams.live.layers.ResilientPubSubChannelLayer",
            "CONFIG": {"hosts": [f"redis://127.0.0.1:{free_port()}/0"]},
        }
    }
    channel_layers.backends.clear()
    response = Client().get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unhealthy"
    assert body["database"] == "ok"
    assert body["channel_layer"].startswith("error")


def test_metrics_are_prometheus_text_with_help_and_type() -> None:
    response = Client().get("/metrics")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=0.0.4")
    text = response.content.decode()
    names = re.findall(r"^# HELP (\w+) \S", text, flags=re.M)
    assert "pulseboard_connections" in names and "pulseboard_errors_total" in names
    for name in names:
        assert re.search(rf"^# TYPE {name} (counter|gauge)$", text, flags=re.M), name
    for line in text.splitlines():
        if line and not line.startswith("#"):
            assert re.fullmatch(
                r'[a-z_]+(\{[a-z_]+="[^"]*"(,[a-z_]+="[^"]*")*\})? -?[\d.e+]+', line
            ), line


@stores
def test_metrics_count_what_happens(owner_token: str, push_stream: Stream) -> None:
    before = Client().get("/metrics").content.decode()
    samples = [{"values": {"value": i}} for i in range(3)]
    post_json(token_client(owner_token), INGEST, {"samples": samples})
    after = Client().get("/metrics").content.decode()
    published = "pulseboard_samples_published_total"
    assert (
        metric(after, published, stream="push.alice")
        == metric(before, published, stream="push.alice") + 3
    )
