"""POST /api/streams/<slug>/samples: pushed samples are validated, stored and fanned out."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.test import Client

from streams.clock import now_ms
from streams.history.store import history_append
from streams.messages import sample_frame
from streams.models import ApiToken, Stream
from tests.support.samples import stored_samples
from tests.support.web import INGEST, logged_in, post_json, token_client

pytestmark = pytest.mark.django_db
# A batch that gets as far as being stored goes through database_sync_to_async, which
# closes the connection of a test transaction: those tests commit for real.
stores = pytest.mark.django_db(transaction=True)


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
    rows = stored_samples(push_stream)
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
    assert stored_samples(push_stream) == []


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
        (
            {"samples": [{"values": {"value": 1e308}}, {"values": {"value": 1e308}}]},
            400,
            "invalid_field",
        ),
        ({"samples": [{"values": {"value": 1e301}}]}, 400, "invalid_field"),
        ({"samples": [{"values": {"value": -1e301}}]}, 400, "invalid_field"),
        ({"samples": [{"values": {"value": "hot"}}]}, 400, "invalid_field"),
        ({"samples": [{"values": {"value": "21.5"}}]}, 400, "invalid_field"),
        (
            {"samples": [{"values": {"value": 1}}, {"values": {"value": "hot"}}]},
            400,
            "invalid_field",
        ),
        ({"samples": [{"values": {"label": 5}}]}, 400, "invalid_field"),
        ({"samples": [{"values": {"label": -1.5}}]}, 400, "invalid_field"),
        ({"samples": [{"values": {"label": False}}]}, 400, "invalid_field"),
        ({"samples": [{"values": {"label": None}}]}, 400, "invalid_field"),
        ({"samples": [{"values": {"label": ["a"]}}]}, 400, "invalid_field"),
        (b'{"samples": [{"values": {"value": -1' + b"0" * 400 + b"}}]}", 400, "invalid_json"),
        (b'{"samples": [{"values": {"value": Infinity}}]}', 400, "invalid_json"),
        (b'{"samples": [{"values": {"value": 1e999}}]}', 400, "invalid_json"),
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
def test_a_bad_body_is_refused_and_nothing_is_stored_samples(
    owner_token: str, push_stream: Stream, body: Any, status: int, code: str
) -> None:
    response = post_json(token_client(owner_token), INGEST, body)
    assert response.status_code == status
    assert response.json()["error"]["code"] == code
    assert response.json()["error"]["message"]
    assert stored_samples(push_stream) == []


def test_a_batch_out_of_order_is_refused_whole(owner_token: str, push_stream: Stream) -> None:
    t = now_ms()
    samples = [{"t": t, "values": {"value": 1}}, {"t": t - 1, "values": {"value": 2}}]
    response = post_json(token_client(owner_token), INGEST, {"samples": samples})
    assert response.status_code == 400
    assert "samples[1].t" in response.json()["error"]["message"]
    assert stored_samples(push_stream) == []


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
    assert [row[0] for row in stored_samples(push_stream)] == [1]


def test_a_batch_from_the_future_is_refused(owner_token: str, push_stream: Stream) -> None:
    samples = [{"t": now_ms() + 10 * 60 * 1000, "values": {"value": 1}}]
    response = post_json(token_client(owner_token), INGEST, {"samples": samples})
    assert response.status_code == 400
    assert "future" in response.json()["error"]["message"]
    assert stored_samples(push_stream) == []


def test_a_sample_six_minutes_ahead_is_refused(owner_token: str, push_stream: Stream) -> None:
    # The allowance for clocks running ahead is five minutes: one more is too many.
    samples = [{"t": now_ms() + 6 * 60 * 1000, "values": {"value": 1}}]
    response = post_json(token_client(owner_token), INGEST, {"samples": samples})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_field"
    assert (
        "samples[0].t is more than 5 minutes in the future" in response.json()["error"]["message"]
    )
    assert stored_samples(push_stream) == []


@stores
def test_a_sample_four_minutes_ahead_is_stored(owner_token: str, push_stream: Stream) -> None:
    t = now_ms() + 4 * 60 * 1000
    response = post_json(
        token_client(owner_token), INGEST, {"samples": [{"t": t, "values": {"value": 1}}]}
    )
    assert response.status_code == 201
    assert [row[1] for row in stored_samples(push_stream)] == [t]


@pytest.mark.parametrize(
    ("values", "field", "says"),
    [
        ({"value": "hot"}, "value", "must be a number; got text (value is a number field)"),
        ({"value": True}, "value", "must be a number; got true/false"),
        ({"value": -1e301}, "value", "must be from -1e300 to 1e300"),
        ({"label": 5}, "label", "must be text; got a number (label is a text field)"),
        ({"label": "x" * 201}, "label", "is longer than 200 characters"),
    ],
)
def test_a_refusal_names_the_field_and_what_it_takes(
    owner_token: str, push_stream: Stream, values: dict[str, Any], field: str, says: str
) -> None:
    samples = [{"values": {"value": 1}}, {"values": values}]
    response = post_json(token_client(owner_token), INGEST, {"samples": samples})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_field"
    assert response.json()["error"]["message"].startswith(f"samples[1].values.{field} ")
    assert says in response.json()["error"]["message"]
    assert stored_samples(push_stream) == []


@stores
def test_values_at_the_edges_of_their_types_are_stored(
    owner_token: str, push_stream: Stream
) -> None:
    samples: list[dict[str, dict[str, Any]]] = [
        {"values": {"value": 1e300, "label": "x" * 200}},
        {"values": {"value": -1e300, "label": ""}},
        {"values": {"value": -(2**63), "label": "21.5"}},
        {"values": {"value": 0.0, "label": "=HYPERLINK(1)"}},
    ]
    response = post_json(token_client(owner_token), INGEST, {"samples": samples})
    assert response.status_code == 201
    stored = [row[2] for row in stored_samples(push_stream)]
    assert [values["label"] for values in stored] == [s["values"]["label"] for s in samples]
    # PostgreSQL's jsonb gives 1e300 back as the integer 10**300: the same number, not
    # the same type.
    assert [float(values["value"]) for values in stored] == [
        float(s["values"]["value"]) for s in samples
    ]


@stores
def test_a_batch_over_the_limit_is_too_large(
    owner_token: str, push_stream: Stream, settings: Any
) -> None:
    settings.PULSEBOARD_MAX_INGEST_BATCH = 10
    samples = [{"values": {"value": i}} for i in range(11)]
    response = post_json(token_client(owner_token), INGEST, {"samples": samples})
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "too_large"
    assert stored_samples(push_stream) == []
    ok = post_json(token_client(owner_token), INGEST, {"samples": samples[:10]})
    assert ok.status_code == 201


def test_it_rejects_ingest_to_other_users_push_stream(outsider: Any, push_stream: Stream) -> None:
    token = ApiToken.objects.issue(user=outsider)[1]
    response = post_json(token_client(token), INGEST, {"samples": [{"values": {"value": 1}}]})
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"
    assert stored_samples(push_stream) == []


def test_it_hides_other_users_private_streams_from_ingest(
    outsider: Any, owner: Any, push_stream: Stream
) -> None:
    Stream.objects.filter(pk=push_stream.pk).update(is_public=False)
    response = post_json(logged_in(outsider), INGEST, {"samples": [{"values": {"value": 1}}]})
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "unknown_stream"
    assert stored_samples(push_stream) == []


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
    assert stored_samples(private_stream) == []


def test_ingest_to_an_unknown_stream(owner_token: str) -> None:
    response = post_json(token_client(owner_token), "/api/streams/nope/samples", {"samples": []})
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "unknown_stream"


def test_anonymous_ingest_is_refused(push_stream: Stream) -> None:
    response = post_json(Client(), INGEST, {"samples": [{"values": {"value": 1}}]})
    assert response.status_code == 401
    assert stored_samples(push_stream) == []


def test_ingest_with_a_bad_token_is_refused(owner_token: str, push_stream: Stream) -> None:
    response = post_json(token_client("pb_forged"), INGEST, {"samples": [{"values": {"value": 1}}]})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_token"
    assert stored_samples(push_stream) == []


def test_ingest_takes_posts_and_reads_take_gets(owner_token: str, push_stream: Stream) -> None:
    assert token_client(owner_token).put(INGEST).status_code == 405
