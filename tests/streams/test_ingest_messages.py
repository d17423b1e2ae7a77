"""What a script is told when a pushed value is refused: the field, and what it sent.

The message names the field and the kind of JSON value that came (null, a list,
an object), adds the field's declared type only when it has one, and the error
carries the field, for a refused value and for a name the stream does not declare.
A batch refused whole (empty, with keys a sample does not have, to a stopped
stream, while the database is busy) is told why, with the status that says
whether sending it again can help.
"""

from __future__ import annotations

from typing import Any

import pytest

from streams.models import Stream
from streams.producer.values import IngestError, field_types, values_check
from tests.support.samples import stored_samples
from tests.support.web import INGEST, post_json, token_client

NUMBER = {"v": "number"}


@pytest.mark.parametrize("value,got", [(None, "null"), ([1, 2], "a list"), ({"a": 1}, "an object")])
def test_a_refused_value_is_named_for_what_it_is(value: Any, got: str) -> None:
    with pytest.raises(IngestError) as refused:
        values_check({"v": value}, types=NUMBER, slug="s")
    assert refused.value.message == f"values.v must be a number; got {got} (v is a number field)."
    assert str(refused.value) == refused.value.message
    assert (refused.value.code, refused.value.field) == ("invalid_field", "v")


def test_a_stream_without_declared_fields_names_no_type() -> None:
    with pytest.raises(IngestError) as refused:
        values_check({"v": [1]}, types={}, slug="s")
    assert refused.value.message == "values.v must be a number or text; got a list."


def test_a_name_the_stream_does_not_declare_is_named() -> None:
    with pytest.raises(IngestError) as refused:
        values_check({"v": 1, "w": 2}, types=NUMBER, slug="lab")
    assert refused.value.message == "values.w is not a field of lab."
    assert (refused.value.code, refused.value.field) == ("invalid_field", "w")


def test_field_entries_without_a_name_declare_nothing() -> None:
    fields = [{"name": "v", "unit": ""}, {"unit": "°C"}, {"name": 5}, "w"]
    assert field_types(fields) == {"v": "number"}


@pytest.mark.django_db(transaction=True)
def test_the_api_says_what_came_instead_of_a_number(owner_token: str, push_stream: Stream) -> None:
    samples = [{"values": {"value": [21.5]}}]
    response = post_json(token_client(owner_token), INGEST, {"samples": samples})
    assert response.status_code == 400
    assert response.json()["error"] == {
        "code": "invalid_field",
        "message": "samples[0].values.value must be a number; got a list (value is a number field).",
    }


def test_a_stream_without_declared_fields_takes_numbers_and_text_under_any_name() -> None:
    values = {"v": 1.5, "n": -3, "label": "ok"}
    assert values_check(values, types={}, slug="s") == values
    with pytest.raises(IngestError) as refused:
        values_check({"label": "x" * 201}, types={}, slug="s")
    assert refused.value.message == "values.label is longer than 200 characters."


def refusal(response: Any) -> tuple[int, str, str]:
    error = response.json()["error"]
    return response.status_code, error["code"], error["message"]


@pytest.mark.django_db
def test_an_empty_batch_is_told_what_it_must_be(owner_token: str, push_stream: Stream) -> None:
    response = post_json(token_client(owner_token), INGEST, {"samples": []})
    assert refusal(response) == (400, "invalid_field", "`samples` must be a non-empty list.")


@pytest.mark.django_db
def test_a_sample_with_keys_it_does_not_have_is_told_each_of_them(
    owner_token: str, push_stream: Stream
) -> None:
    samples = [{"values": {"value": 1}, "unit": "K", "colour": "red"}]
    response = post_json(token_client(owner_token), INGEST, {"samples": samples})
    assert refusal(response) == (
        400,
        "invalid_field",
        "samples[0] has unknown keys: colour, unit.",
    )


@pytest.mark.django_db
def test_a_value_the_stream_does_not_declare_names_the_stream(
    owner_token: str, push_stream: Stream
) -> None:
    samples = [{"values": {"value": 1}}, {"values": {"humidity": 40}}]
    response = post_json(token_client(owner_token), INGEST, {"samples": samples})
    assert refusal(response) == (
        400,
        "invalid_field",
        "samples[1].values.humidity is not a field of push.alice.",
    )


@pytest.mark.django_db
def test_a_stopped_stream_is_a_conflict_its_owner_can_resolve(
    owner_token: str, push_stream: Stream
) -> None:
    Stream.objects.filter(pk=push_stream.pk).update(running=False)
    response = post_json(token_client(owner_token), INGEST, {"samples": [{"values": {"value": 1}}]})
    assert refusal(response) == (
        409,
        "stream_stopped",
        "'push.alice' is stopped; its owner may start it again.",
    )
    assert stored_samples(push_stream) == []
