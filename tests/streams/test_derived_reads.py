"""What a derived stream may read: what its owner reads directly, whatever else exists.

A stream that belongs to nobody (the operator's) reads everything; its being
there must not open anything to a user's derived stream.
"""

from __future__ import annotations

from typing import Any

import pytest

from streams.access import streams_derived_may_read
from streams.models import SourceKind, Stream
from tests.support.factories import make_stream, make_user

pytestmark = pytest.mark.django_db


def stream_make(slug: str, owner: Any, *, public: bool = False, **extra: Any) -> Stream:
    return make_stream(slug, owner=owner, is_public=public, **extra)


def test_an_operators_stream_opens_nothing_to_a_users_derived_stream() -> None:
    alice = make_user("alice", password="a")
    mallory = make_user("mallory", password="m")
    stream_make("alice.private", alice)
    stream_make("public", alice, public=True)
    stream_make("operator.feed", None)
    replay = make_stream("replay.mallory", kind=SourceKind.REPLAY, title="r", owner=mallory)
    readable = set(streams_derived_may_read(replay.pk).values_list("slug", flat=True))
    assert readable == {"public", "replay.mallory"}
    operators = make_stream("replay.operator", kind=SourceKind.REPLAY, title="r", owner=None)
    assert "alice.private" in streams_derived_may_read(operators.pk).values_list("slug", flat=True)
