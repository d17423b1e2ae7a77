"""What the admin shows of streams and samples: retention in days, a sample's time as a date."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from dashboards import services
from streams.models import Stream
from tests.support.samples import EPOCH_MS

pytestmark = pytest.mark.django_db


def admin_client(admin_user: Any) -> Client:
    client = Client()
    client.force_login(admin_user)
    return client


def test_the_stream_list_and_form_speak_of_days(admin_user: Any, lab_stream: Stream) -> None:
    client = admin_client(admin_user)
    listing = client.get("/admin/streams/stream/").content.decode()
    assert "7 days" in listing and "604800" not in listing
    form = client.get(f"/admin/streams/stream/{lab_stream.pk}/change/").content.decode()
    assert 'name="retention_days"' in form and 'value="7.0"' in form
    assert 'name="retention_seconds"' not in form


def test_a_retention_saved_in_days_is_stored_in_seconds(
    admin_user: Any, lab_stream: Stream
) -> None:
    client = admin_client(admin_user)
    url = f"/admin/streams/stream/{lab_stream.pk}/change/"
    data = {
        "slug": lab_stream.slug,
        "title": lab_stream.title,
        "fields": '[{"name": "temperature", "unit": "°C"}]',
        "owner": lab_stream.owner_id,
        "source_kind": lab_stream.source_kind,
        "source_settings": "{}",
        "retention_days": "0.5",
    }
    response = client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    lab_stream.refresh_from_db()
    assert lab_stream.retention_seconds == 12 * 3600


def test_the_sample_list_shows_each_time_as_a_date(admin_user: Any, lab_stream: Stream) -> None:
    html = (
        admin_client(admin_user)
        .get(f"/admin/streams/sample/?stream__id__exact={lab_stream.pk}")
        .content.decode()
    )
    newest = EPOCH_MS + 1199 * 100
    assert f'title="t = {newest}"' in html
    assert "time (utc)" in html.lower()


def test_the_dashboard_change_page_keeps_widget_rows_narrow(
    admin_user: Any, owner: Any, lab_stream: Stream
) -> None:
    board = services.dashboard_create(owner=owner, title="Floor")
    services.widget_save(dashboard=board, user=owner, kind="table", stream=lab_stream)
    html = admin_client(admin_user).get(f"/admin/dashboards/dashboard/{board.pk}/change/")
    content = html.content.decode()
    assert 'cols="34"' in content and 'class="vIntegerField"' in content
