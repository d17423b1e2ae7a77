"""Field types: declared by sources, written by the migration, described, and held on every push path."""

from __future__ import annotations

import importlib
import random
from typing import Any

import pytest
from django.apps import apps as current_apps
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from streams.metrics import metric_value
from streams.models import SourceKind, Stream
from streams.producer.values import IngestError, field_types, value_problem, values_check
from streams.sources import SOURCES, source_create
from streams.sources.base import ClockedSource
from tests.support.samples import stored_samples_async
from tests.support.sockets import Connect, error_for, subscribe
from tests.support.web import INGEST, post_json, token_client

GENERATED = [kind for kind in SOURCES if kind != "replay"]
MIGRATION = importlib.import_module("streams.migrations.0004_field_types")


# -- sources ------------------------------------------------------------------


@pytest.mark.parametrize("kind", GENERATED)
def test_every_source_declares_a_type_its_readings_keep(kind: str) -> None:
    declared = {field["name"]: field["type"] for field in SOURCES[kind].fields}
    source = source_create(kind, {}, rng=random.Random(3))
    assert isinstance(source, ClockedSource)
    for i in range(300):
        values = source.read(1000 * i).values
        assert set(values) <= set(declared), kind
        for name, value in values.items():
            if declared[name] in ("number", "text"):
                assert value_problem(value, declared[name]) is None, (kind, name, value)
            else:  # a market's trade or book
                assert isinstance(value, dict), (kind, name, value)


@pytest.mark.parametrize(
    ("value", "kind", "refused"),
    [
        (-(10**301), "number", True),  # a big integer, as a parser other than orjson may give
        (10**301, None, True),
        (float("nan"), "number", True),
        (float("-inf"), None, True),
        (2**63, "number", False),
        (-1e300, "number", False),
        ("", "text", False),
        (0, "text", True),
        ("0", "number", True),
        ({"price": 1}, "trade", True),  # only the market source writes trades
    ],
)
def test_value_problem(value: Any, kind: str | None, refused: bool) -> None:
    assert (value_problem(value, kind) is not None) is refused


def test_the_business_label_is_text() -> None:
    assert {f["name"]: f["type"] for f in SOURCES["business"].fields} == {
        "value": "number",
        "label": "text",
    }


# -- the migration --------------------------------------------------------------


def untyped(slug: str, kind: str, fields: list[dict[str, Any]], **settings: Any) -> Stream:
    """Return a stream whose stored fields are exactly `fields`, as before types existed."""
    stream = Stream.objects.create(
        slug=slug, title=slug, source_kind=kind, source_settings=settings
    )
    Stream.objects.filter(pk=stream.pk).update(fields=fields)  # around save(), which adds types
    return stream


def fields_of(slug: str) -> list[dict[str, Any]]:
    return list(Stream.objects.get(slug=slug).fields)


@pytest.mark.django_db
def test_the_migration_types_old_fields_and_takes_them_back() -> None:
    untyped("biz", "business", [{"name": "value", "unit": ""}, {"name": "label", "unit": ""}])
    untyped("lab", "sensor", [{"name": "temperature", "unit": "°C"}])
    untyped("btc", "market", [{"name": "price", "unit": "USD"}, {"name": "trade", "unit": ""}])
    untyped("script", "push", [{"name": "status", "unit": "", "type": "text"}, {"name": "n"}])
    untyped("again", "replay", [{"name": "value"}, {"name": "label"}], source="biz")
    state = MigrationExecutor(connection).loader.project_state(("streams", "0004_field_types"))

    MIGRATION.add_types(state.apps, None)
    assert fields_of("biz") == [
        {"name": "value", "unit": "", "type": "number"},
        {"name": "label", "unit": "", "type": "text"},
    ]
    assert fields_of("lab") == [{"name": "temperature", "unit": "°C", "type": "number"}]
    assert [f["type"] for f in fields_of("btc")] == ["number", "trade"]
    assert fields_of("script") == [
        {"name": "status", "unit": "", "type": "text"},
        {"name": "n", "type": "number"},
    ]
    assert [f["type"] for f in fields_of("again")] == ["number", "text"]

    MIGRATION.drop_number_types(state.apps, None)
    assert fields_of("biz") == [
        {"name": "value", "unit": ""},
        {"name": "label", "unit": "", "type": "text"},
    ]
    assert fields_of("lab") == [{"name": "temperature", "unit": "°C"}]
    assert fields_of("script") == [{"name": "status", "unit": "", "type": "text"}, {"name": "n"}]


@pytest.mark.django_db
def test_the_migration_is_in_the_plan() -> None:
    loader = MigrationExecutor(connection).loader
    assert ("streams", "0004_field_types") in loader.applied_migrations
    migration = loader.get_migration("streams", "0004_field_types")
    assert migration.dependencies == [("streams", "0003_slug_end")]
    assert all(op.reversible for op in migration.operations)


@pytest.mark.django_db
def test_a_stream_saved_without_types_stores_numbers() -> None:
    stream = Stream.objects.create(
        slug="plain", title="plain", source_kind=SourceKind.PUSH, fields=[{"name": "v"}]
    )
    stream.refresh_from_db()
    assert stream.fields == [{"name": "v", "type": "number"}]
    assert current_apps.get_model("streams", "Stream") is Stream


# -- the live socket and the metric ------------------------------------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("values", "named"),
    [
        ({"value": "hot"}, "samples[1].values.value must be a number"),
        ({"label": 5}, "samples[1].values.label must be text"),
        ({"value": -1e301}, "samples[1].values.value must be from -1e300"),
    ],
)
async def test_publish_refuses_a_value_of_the_wrong_type(
    connect: Connect, owner: Any, push_stream: Stream, values: dict[str, Any], named: str
) -> None:
    alice = await connect(owner)
    samples = [{"values": {"value": 1, "label": "ok"}}, {"values": values}]
    error = await error_for(
        alice, {"type": "publish", "stream": "push.alice", "samples": samples, "ref": "p"}
    )
    assert (error["code"], error["ref"]) == ("invalid_field", "p")
    assert error["message"].startswith(named)
    assert [row.seq for row in await stored_samples_async(push_stream)] == []
    # The socket carries on: a batch of the right types is stored.
    reply = await alice.command(
        {"type": "publish", "stream": "push.alice", "samples": samples[:1]}, "published"
    )
    assert reply["count"] == 1 and [row.seq for row in await stored_samples_async(push_stream)] == [
        1
    ]


@pytest.mark.django_db(transaction=True)
async def test_subscribed_says_each_fields_type(
    connect: Connect, owner: Any, push_stream: Stream
) -> None:
    alice = await connect(owner)
    subscribed = (await subscribe(alice, "push.alice"))[0]
    assert subscribed["fields"] == [
        {"name": "value", "unit": "", "type": "number"},
        {"name": "label", "unit": "", "type": "text"},
    ]


@pytest.mark.django_db
def test_refusals_are_counted_by_code(owner_token: str, push_stream: Stream) -> None:
    before = metric_value("pulseboard_samples_refused_total", code="invalid_field")
    for values in ({"value": "hot"}, {"label": 5}):
        response = post_json(token_client(owner_token), INGEST, {"samples": [{"values": values}]})
        assert response.status_code == 400
    after = metric_value("pulseboard_samples_refused_total", code="invalid_field")
    assert after == before + 2


def test_a_refusal_carries_the_field_it_names() -> None:
    types = field_types([{"name": "temperature", "unit": "°C"}, {"name": "status", "type": "text"}])
    assert types == {"temperature": "number", "status": "text"}
    assert values_check({"temperature": 1, "status": "ok"}, types=types, slug="s") == {
        "temperature": 1,
        "status": "ok",
    }
    with pytest.raises(IngestError) as refused:
        values_check({"temperature": 1, "status": 2}, types=types, slug="s", where="v")
    assert (refused.value.code, refused.value.field) == ("invalid_field", "status")
    assert refused.value.message == "v.status must be text; got a number (status is a text field)."
