"""Who reaches a private stream over HTTP: every endpoint × every actor of the access world."""

from __future__ import annotations

import orjson
import pytest
from django.test import Client

from streams.models import ApiToken
from tests.streams.access_world import PRIVATE, World, world_make

pytestmark = pytest.mark.django_db

ACTORS = [
    "alice",
    "bob",
    "mallory",
    "carol",
    "staff",
    "demoted staff",
    "outsider",
    "anonymous",
    "alice's token",
    "bob's token",
    "mallory's token",
    "deleted token",
]
# Who reads Alice's private stream: she, Bob (her share) and staff — never Mallory
# (Bob's re-share), never a demoted staff user, never a deleted token.
READERS = {"alice", "bob", "staff", "alice's token", "bob's token"}
CONTROLLERS = {"alice", "staff", "alice's token"}


@pytest.fixture
def world() -> World:
    return world_make()


def client_of(world: World, actor: str) -> Client:
    """Return a client that asks as `actor` (a session, or an API token in the header)."""
    client = Client()
    users = {
        "alice": world.alice,
        "bob": world.bob,
        "mallory": world.mallory,
        "carol": world.carol,
        "staff": world.staff,
        "outsider": world.outsider,
    }
    tokens = {
        "alice's token": world.alice_token,
        "bob's token": world.bob_token,
        "mallory's token": world.mallory_token,
    }
    if actor in users:
        client.force_login(users[actor])
    elif actor == "demoted staff":
        client.force_login(world.staff)
        world.staff.is_staff = False
        world.staff.save()
    elif actor in tokens:
        client.defaults["HTTP_AUTHORIZATION"] = f"Token {tokens[actor]}"
    elif actor == "deleted token":
        client.defaults["HTTP_AUTHORIZATION"] = f"Token {world.staff_token}"
        ApiToken.objects.filter(user=world.staff).delete()
    return client


def leaks(body: bytes) -> bool:
    """Return whether an answer carries anything of the private stream."""
    return PRIVATE.encode() in body or b"Alice's device" in body


@pytest.mark.parametrize("actor", ACTORS)
def test_the_stream_list_names_the_private_stream_only_to_its_readers(
    world: World, actor: str
) -> None:
    response = client_of(world, actor).get("/api/streams/")
    if actor == "anonymous":
        assert response.status_code == 401
    elif actor == "deleted token":
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "invalid_token"
    else:
        assert response.status_code == 200
        assert leaks(response.content) == (actor in READERS)


@pytest.mark.parametrize(
    "path", ["history?from=0", "export.csv?from=0", "export.json?from=0", "export.parquet?from=0"]
)
@pytest.mark.parametrize("actor", ACTORS)
def test_history_and_exports_answer_only_its_readers(world: World, actor: str, path: str) -> None:
    response = client_of(world, actor).get(f"/api/streams/{PRIVATE}/{path}")
    if actor in READERS:
        assert response.status_code == 200
    elif actor in ("anonymous", "deleted token"):
        assert response.status_code == 401
    else:
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "unknown_stream"


@pytest.mark.django_db(transaction=True)  # a push goes through database_sync_to_async
@pytest.mark.parametrize("actor", ACTORS)
def test_only_the_owner_and_staff_push(world: World, actor: str) -> None:
    body = orjson.dumps({"samples": [{"values": {"value": 1}}]})
    response = client_of(world, actor).post(
        f"/api/streams/{PRIVATE}/samples", body, content_type="application/json"
    )
    if actor in CONTROLLERS:
        assert response.status_code == 201
    elif actor in READERS:
        assert response.status_code == 403
    elif actor in ("anonymous", "deleted token"):
        assert response.status_code in (401, 403)
    else:
        assert response.status_code == 404


@pytest.mark.parametrize("actor", ["alice", "bob", "mallory", "carol", "outsider", "staff"])
def test_dashboard_pages_show_the_stream_only_to_its_readers(world: World, actor: str) -> None:
    client = client_of(world, actor)
    for board in (world.alice_board, world.bob_board):
        response = client.get(f"/d/{board.pk}/")
        if response.status_code == 200:
            assert leaks(response.content) == (actor in READERS), board.title


@pytest.mark.parametrize("link,shows", [("alice-link-secret", True), ("bob-link-secret", False)])
def test_a_link_page_shows_what_its_owner_reads_directly(
    world: World, link: str, shows: bool
) -> None:
    response = Client().get(f"/share/{link}/")
    assert response.status_code == 200
    assert leaks(response.content) == shows


def test_tokens_open_the_api_but_not_the_admin_or_forms(world: World) -> None:
    staff = Client(HTTP_AUTHORIZATION=f"Token {world.staff_token}")
    assert staff.get("/api/streams/").status_code == 200
    assert staff.get("/admin/").status_code == 302  # to the admin's login page
    csrf = Client(enforce_csrf_checks=True, HTTP_AUTHORIZATION=f"Token {world.alice_token}")
    assert csrf.post("/d/new/", {"title": "By token"}).status_code in (302, 403)
    assert not world.alice.dashboards.filter(title="By token").exists()
