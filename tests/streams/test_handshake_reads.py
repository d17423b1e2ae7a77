"""Handshakes arriving together read their credentials in one query per batch."""

from __future__ import annotations

import asyncio
from importlib import import_module
from typing import Any

import pytest
from channels.db import database_sync_to_async
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.auth.models import User
from django.db import connection
from django.test.utils import CaptureQueriesContext

from streams.auth import handshake_reads, session_users, token_rows
from streams.models import ApiToken
from tests.support.factories import make_user

pytestmark = pytest.mark.django_db(transaction=True)


def logged_in_session(user: Any) -> Any:
    store = import_module(settings.SESSION_ENGINE).SessionStore()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store.save()
    return import_module(settings.SESSION_ENGINE).SessionStore(store.session_key)


def test_every_token_of_a_batch_is_answered_from_one_read() -> None:
    ada = make_user("ada", email="", password="x" * 12)
    bob = make_user("bob", email="", password="x" * 12)
    gone = make_user("gone", email="", password="x" * 12, is_active=False)
    _, ada_token = ApiToken.objects.issue(user=ada)
    _, bob_token = ApiToken.objects.issue(user=bob)
    _, gone_token = ApiToken.objects.issue(user=gone)
    ApiToken.objects.update(last_used=None)
    asked = [bob_token, "not-a-token", ada_token, gone_token, "", bob_token, "x" * 500]
    with CaptureQueriesContext(connection) as queries:
        rows = token_rows("tokens", asked)
    users = [row.user.username if row is not None else None for row in rows]
    assert users == ["bob", None, "ada", None, None, "bob", None]
    reads = [q for q in queries.captured_queries if q["sql"].lstrip().startswith("SELECT")]
    assert len(reads) == 1
    # last_used is still written, once for the batch.
    assert ApiToken.objects.filter(last_used__isnull=False).count() == 2


def test_every_session_of_a_batch_is_read_in_one_query_and_checked_as_django_does() -> None:
    ada = make_user("ada", email="", password="x" * 12)
    bob = make_user("bob", email="", password="x" * 12)
    ada_session, bob_session = logged_in_session(ada), logged_in_session(bob)
    stale = logged_in_session(bob)
    bob.set_password("y" * 12)  # bob's sessions no longer match his password
    bob.save()
    bob_session = logged_in_session(bob)
    keys = [ada_session.session_key, bob_session.session_key, "nosuchsessionkey0123456789abcdef"]
    with CaptureQueriesContext(connection) as queries:
        found = session_users("sessions", keys)
    assert [user.username if user.is_authenticated else None for _, user in found] == [
        "ada",
        "bob",
        None,
    ]
    assert [session.session_key for session, _ in found] == keys
    session_reads = [q for q in queries.captured_queries if "django_session" in q["sql"]]
    assert len(session_reads) == 1
    # A session from before the password change is signed out (and deleted), as Django does.
    assert not session_users("sessions", [stale.session_key])[0][1].is_authenticated
    assert (
        not import_module(settings.SESSION_ENGINE).SessionStore().exists(stale.session_key or "-")
    )


async def test_handshakes_asking_together_share_a_read() -> None:
    ada = await User.objects.acreate(username="ada")
    # (database_sync_to_async closes the thread's connection after; to_thread would keep it
    # open past the test database's teardown on PostgreSQL.)
    _, token = await database_sync_to_async(ApiToken.objects.issue)(user=ada)
    reads = handshake_reads()
    asked = [reads.tokens.ask("tokens", token) for _ in range(20)]
    asked.append(reads.tokens.ask("tokens", "wrong"))
    rows = await asyncio.gather(*asked)
    assert {row.user.pk for row in rows[:-1] if row is not None} == {ada.pk}
    assert all(row is not None for row in rows[:-1]) and rows[-1] is None
