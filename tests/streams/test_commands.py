"""Management commands (seed, createtoken) and the admin pages of the streams app."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.test import Client

from dashboards.management.commands.seed import DEMO_STREAMS
from streams.history.store import history_append
from streams.messages import sample_frame
from streams.models import ApiToken, Sample, SampleBlock, SourceKind, Stream
from streams.sources import source_settings_errors
from tests.support.samples import stored_samples

pytestmark = pytest.mark.django_db


def seeded_state() -> tuple[list[str], list[tuple[str, str]], dict[str, tuple[int, int | None]]]:
    """Return the users, the streams, and per stream its sample count and last seq."""
    users = sorted(get_user_model().objects.values_list("username", flat=True))
    streams = sorted(Stream.objects.values_list("slug", "source_kind"))
    samples: dict[str, tuple[int, int | None]] = {}
    for stream in Stream.objects.all():
        stored = stored_samples(stream)
        samples[stream.slug] = (len(stored), stored[-1].seq if stored else None)
    return users, streams, samples


def seed(*options: str) -> str:
    out = StringIO()
    call_command("seed", *options, stdout=out)
    return out.getvalue()


def test_seed_is_idempotent(settings: Any) -> None:
    settings.PULSEBOARD_KNOWN_DEMO_PASSWORDS = True  # the loopback demo's
    first_output = seed()
    first = seeded_state()
    second_output = seed()
    assert seeded_state() == first
    assert "Created user 'demo'" in first_output
    assert "Created user" not in second_output
    assert "History: already there." in second_output
    assert "demo / demo" in second_output

    samples = first[2]
    for slug in ("sensors.lab-1", "anomaly.demo", "business.kpi", "price.BTC-USD"):
        count, last = samples[slug]
        assert count > 1000, slug
        assert last == count, slug
    assert samples["push.demo"] == (0, None)
    count, last = samples["sine.1khz"]
    assert count >= 60_000 and last == count
    sine = Stream.objects.get(slug="sine.1khz")
    times = [sample.t for sample in stored_samples(sine)[:1001]]
    assert times[-1] - times[0] == 1000, "one sample per millisecond"
    anomalies = stored_samples(Stream.objects.get(slug="anomaly.demo"))
    assert any(sample.flags == ["anomaly"] for sample in anomalies)


def test_seed_creates_a_demo_login_and_an_admin(settings: Any) -> None:
    settings.PULSEBOARD_KNOWN_DEMO_PASSWORDS = True  # the loopback demo's
    seed("--no-history")
    assert get_user_model().objects.get(username="demo").check_password("demo")
    admin = get_user_model().objects.get(username="admin")
    assert admin.is_staff and admin.is_superuser
    assert not get_user_model().objects.get(username="demo").is_staff


def test_seed_creates_a_stream_of_every_source_kind() -> None:
    seed("--no-history")
    kinds = set(Stream.objects.values_list("source_kind", flat=True))
    assert kinds == set(SourceKind.values)
    for stream in Stream.objects.all():
        assert stream.owner.username == "demo"
        assert stream.is_public
        stream.full_clean()  # valid fields, as the admin would check
        assert source_settings_errors(stream.source_kind, stream.source_settings) == []


def test_seed_includes_the_1khz_sine() -> None:
    seed("--no-history")
    sine = Stream.objects.get(slug="sine.1khz")
    assert sine.source_kind == "sine"
    assert sine.source_settings["rate"] == 1000
    assert sine.running


def test_seed_without_history_adds_no_samples() -> None:
    call_command("seed", "--no-history", stdout=StringIO())
    assert Stream.objects.count() == len(DEMO_STREAMS)
    assert Sample.objects.count() == 0
    assert SampleBlock.objects.count() == 0


def test_createtoken_prints_a_token_that_authenticates(owner: Any) -> None:
    out = StringIO()
    call_command("createtoken", "alice", "--name", "laptop", stdout=out)
    token = out.getvalue().split()[-1]
    assert ApiToken.objects.get(user=owner).name == "laptop"
    response = Client(HTTP_AUTHORIZATION=f"Token {token}").get("/api/streams/")
    assert response.status_code == 200


def test_createtoken_gives_a_new_token_each_time(owner: Any) -> None:
    tokens = set()
    for _ in range(2):
        out = StringIO()
        call_command("createtoken", "alice", stdout=out)
        tokens.add(out.getvalue().split()[-1])
    assert len(tokens) == 2
    assert ApiToken.objects.filter(user=owner).count() == 2
    assert not ApiToken.objects.filter(digest__in=tokens).exists(), "tokens are stored hashed"


def test_createtoken_for_an_unknown_user_fails() -> None:
    with pytest.raises(CommandError, match="no user 'nobody'"):
        call_command("createtoken", "nobody", stdout=StringIO())
    assert ApiToken.objects.count() == 0


# -- admin ----------------------------------------------------------------------


@pytest.fixture
def with_samples(private_stream: Stream, push_stream: Stream) -> Stream:
    history_append({private_stream.pk: [sample_frame(1, 1_700_000_000_000, {"temperature": 21.5})]})
    return private_stream


@pytest.mark.parametrize(
    "url",
    [
        "/admin/streams/stream/",
        "/admin/streams/stream/?source_kind__exact=push",
        "/admin/streams/sample/",
        "/admin/streams/sample/?within=1h",
        "/admin/streams/apitoken/",
        "/admin/streams/streamlease/",
        "/admin/streams/apitoken/add/",
    ],
)
def test_admin_pages_load_for_a_superuser(
    admin_client: Client, with_samples: Stream, owner_token: str, url: str
) -> None:
    assert admin_client.get(url).status_code == 200


def test_admin_lists_samples_filtered_by_stream(admin_client: Client, with_samples: Stream) -> None:
    response = admin_client.get(f"/admin/streams/sample/?stream__id__exact={with_samples.pk}")
    assert response.status_code == 200
    assert "21.5" in response.content.decode()


def test_admin_samples_are_read_only(admin_client: Client, with_samples: Stream) -> None:
    sample = Sample.objects.get()
    assert admin_client.get("/admin/streams/sample/add/").status_code == 403
    response = admin_client.post(
        f"/admin/streams/sample/{sample.pk}/change/", {"seq": 99, "t": 1, "values": "{}"}
    )
    assert response.status_code == 403
    assert Sample.objects.get().seq == 1


def test_admin_stream_change_page_loads(admin_client: Client, private_stream: Stream) -> None:
    response = admin_client.get(f"/admin/streams/stream/{private_stream.pk}/change/")
    assert response.status_code == 200


def test_admin_starts_a_stream(admin_client: Client, private_stream: Stream) -> None:
    response = admin_client.post(
        "/admin/streams/stream/",
        {"action": "start_sources", "_selected_action": [private_stream.pk]},
        follow=True,
    )
    assert response.status_code == 200
    assert "Started 1 stream(s)." in response.content.decode()
    private_stream.refresh_from_db()
    assert private_stream.running


def test_admin_issues_a_token_and_shows_it_once(admin_client: Client, owner: Any) -> None:
    response = admin_client.post(
        "/admin/streams/apitoken/add/", {"user": owner.pk, "name": "sensor box"}, follow=True
    )
    assert response.status_code == 200
    page = response.content.decode()
    token = page.split("New token for alice: ")[1].split(" ")[0]
    assert token.startswith("pb_")
    assert ApiToken.objects.get().name == "sensor box"
    api = Client(HTTP_AUTHORIZATION=f"Token {token}").get("/api/streams/")
    assert api.status_code == 200


def test_admin_refuses_users_who_are_not_staff(owner: Any) -> None:
    client = Client()
    client.force_login(owner)
    response = client.get("/admin/streams/stream/")
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]
