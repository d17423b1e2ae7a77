"""What a derived stream may read: what its owner reads directly, whatever else exists.

A stream that belongs to nobody (the operator's) reads everything; its being
there must not open anything to a user's derived stream.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model

from streams.access import streams_derived_may_read
from streams.models import SourceKind, Stream

pytestmark = pytest.mark.django_db


def stream_make(slug: str, owner: Any, *, public: bool = False, **extra: Any) -> Stream:
    return Stream.objects.create(
        slug=slug, title=slug, source_kind=SourceKind.PUSH, owner=owner, is_public=public, **extra
    )


def test_an_operators_stream_opens_nothing_to_a_users_derived_stream() -> None:
    users = get_user_model().objects
    alice = users.create_user("alice", "alice@example.com", "a")
    mallory = users.create_user("mallory", "mallory@example.com", "m")
    stream_make("alice.private", alice)
    stream_make("public", alice, public=True)
    stream_make("operator.feed", None)
    replay = Stream.objects.create(
        slug="replay.mallory", title="r", source_kind=SourceKind.REPLAY, owner=mallory
    )
    readable = set(streams_derived_may_read(replay.pk).values_list("slug", flat=True))
    assert readable == {"public", "replay.mallory"}
    operators = Stream.objects.create(
        slug="replay.operator", title="r", source_kind=SourceKind.REPLAY, owner=None
    )
    assert "alice.private" in streams_derived_may_read(operators.pk).values_list("slug", flat=True)
