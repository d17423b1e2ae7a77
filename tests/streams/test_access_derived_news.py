"""What the rule says when it reins in a derived stream, and to whom.

Each replay stopped because its owner no longer reads its source is announced
once: its watchers get a `stream.status` by the rule, every producer a
`producer.reconcile`, and its `pulseboard_stream_running` gauge reads 0. A
public replay becomes private when its source does, running or not (and no
other stream with it), and a replay of that replay stops next: the news of
every step goes out. A start that the rule refuses says which stream stands
in the way.
"""

from __future__ import annotations

from typing import Any

import pytest
from channels.db import database_sync_to_async

from streams.access import derived_stream_stop, derived_streams_rein
from streams.messages import PRODUCERS_GROUP, stream_group
from streams.metrics import metric_value
from streams.models import SourceKind, Stream
from streams.producer.control import stream_set_running
from tests.streams.test_derived_access import replay_of_record, replay_settings
from tests.support.factories import make_stream
from tests.support.sockets import Connect, error_for

RUNNING = "pulseboard_stream_running"


def replay(owner: Any, source: str, slug: str, **fields: Any) -> Stream:
    """Return a replay of `source` as it stands when its source changed under it."""
    return make_stream(
        slug,
        kind=SourceKind.REPLAY,
        source_settings=replay_settings(source),
        owner=owner,
        **fields,
    )


def make_private(stream: Stream) -> None:
    # A bulk update sends no signal: the rein below is the only one.
    Stream.objects.filter(pk=stream.pk).update(is_public=False)


def news_for(news: list[Any], slug: str) -> list[dict[str, Any]]:
    return [message for group, message in news if group == stream_group(slug)]


@pytest.mark.django_db
def test_a_replay_stopped_by_the_rule_tells_its_watchers_the_producers_and_the_gauge(
    public_stream: Stream, outsider: Any
) -> None:
    mallorys = replay(outsider, "sensors.lab-1", "replay.mallory", running=True)
    stream_set_running(stream_id=mallorys.pk, slug=mallorys.slug, running=True)
    assert metric_value(RUNNING, stream="replay.mallory") == 1
    make_private(public_stream)

    news = derived_streams_rein()
    status = news_for(news, "replay.mallory")
    assert [(m["type"], m["stream"], m["running"], m["by"]) for m in status] == [
        ("stream.status", "replay.mallory", False, "system")
    ]
    assert [message for group, message in news if group == PRODUCERS_GROUP] == [
        {"type": "producer.reconcile"}
    ]
    assert metric_value(RUNNING, stream="replay.mallory") == 0
    assert not Stream.objects.get(pk=mallorys.pk).running


@pytest.mark.django_db
def test_every_replay_stopped_in_one_rein_is_announced(
    public_stream: Stream, outsider: Any
) -> None:
    replay(outsider, "sensors.lab-1", "replay.mallory", running=True)
    replay(outsider, "sensors.lab-1", "replay.mallory-2", running=True)
    make_private(public_stream)

    news = derived_streams_rein()
    assert [m["running"] for m in news_for(news, "replay.mallory")] == [False]
    assert [m["running"] for m in news_for(news, "replay.mallory-2")] == [False]


@pytest.mark.django_db
def test_a_replay_already_stopped_is_not_announced_again(
    public_stream: Stream, outsider: Any
) -> None:
    mallorys = replay(outsider, "sensors.lab-1", "replay.mallory", running=True)
    assert derived_stream_stop(mallorys.pk, mallorys.slug) != []
    # Stopped meanwhile by another process's rein: its watchers heard it there.
    assert derived_stream_stop(mallorys.pk, mallorys.slug) == []


@pytest.mark.django_db
def test_a_stopped_public_replay_turns_private_with_its_source(
    public_stream: Stream, owner: Any
) -> None:
    alices = replay(owner, "sensors.lab-1", "replay.alice", running=False, is_public=True)
    bystander = make_stream("push.public", owner=owner, is_public=True)
    make_private(public_stream)

    news = derived_streams_rein()
    assert news_for(news, "replay.alice") == [{"type": "access.changed"}]
    assert not Stream.objects.get(pk=alices.pk).is_public
    assert Stream.objects.get(pk=bystander.pk).is_public


@pytest.mark.django_db
def test_a_replay_of_a_replay_made_private_stops_and_both_are_announced(
    public_stream: Stream, owner: Any, outsider: Any
) -> None:
    # Alice's replay of her own stream keeps running once it is private; Mallory's
    # replay of Alice's replay reads a private stream of someone else's then.
    replay(owner, "sensors.lab-1", "replay.alice", running=True, is_public=True)
    mallorys = replay(outsider, "replay.alice", "replay.mallory", running=True)
    make_private(public_stream)

    news = derived_streams_rein()
    assert news_for(news, "replay.alice") == [{"type": "access.changed"}]
    assert [m["running"] for m in news_for(news, "replay.mallory")] == [False]
    assert not Stream.objects.get(pk=mallorys.pk).running


@pytest.mark.django_db(transaction=True)
async def test_a_refused_start_names_the_stream_its_owner_does_not_read(
    connect: Connect, private_stream: Stream, outsider: Any
) -> None:
    await database_sync_to_async(replay_of_record)(outsider, "sensors.alice", running=False)
    mallory = await connect(outsider)
    error = await error_for(mallory, {"type": "start", "stream": "replay.mallory", "ref": 1})
    assert error["message"] == (
        "'replay.mallory' may not start: it reads 'sensors.alice', "
        "which is not a stream its owner reads directly."
    )
