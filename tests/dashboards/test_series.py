"""Charts of several streams: the editor, exports (version 2), imports and copies, per series."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from dashboards.models import Dashboard, Widget, WidgetSeries
from dashboards.series import MAX_SERIES
from streams.models import SourceKind, Stream
from tests.support.factories import make_stream
from tests.support.web import logged_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def lab_two(owner: Any) -> Stream:
    return make_stream(
        "sensors.lab-2",
        kind=SourceKind.SENSOR,
        title="Lab 2",
        fields=[{"name": "temperature", "unit": "°C"}, {"name": "humidity", "unit": "%"}],
        owner=owner,
        running=False,
    )


@pytest.fixture
def someone_elses(outsider: Any) -> Stream:
    return make_stream(
        "sensors.oscar",
        kind=SourceKind.SENSOR,
        title="Oscar's",
        fields=[{"name": "temperature", "unit": "°C"}],
        owner=outsider,
    )


def chart_post(stream: str, *series: str, **extra: str) -> dict[str, Any]:
    data: dict[str, Any] = {
        "kind": "timeseries",
        "stream": stream,
        "fields": ["temperature"],
        "window_mode": "seconds",
        "window_value": "60",
        "style": "line",
    }
    for index, source in enumerate(series):
        data[f"series-{index}-source"] = source
        data[f"series-{index}-axis"] = "left"
    return data | extra


def test_the_editor_saves_a_chart_of_two_streams(
    owner: Any, dashboard: Dashboard, lab_two: Stream
) -> None:
    post = chart_post(
        "sensors.alice",
        "sensors.lab-2|temperature",
        "sensors.lab-2|humidity",
        **{"series-1-axis": "right", "series-1-custom": "on", "series-1-color": "#ff0000"},
    )
    response = logged_in(owner).post(f"/d/{dashboard.pk}/widgets/new/", post)
    assert response.status_code == 200
    saved = json.loads(response["HX-Trigger"])["widget-saved"]
    assert saved["widget"]["series"] == [
        {"stream": "sensors.lab-2", "field": "temperature", "color": "", "axis": "left"},
        {"stream": "sensors.lab-2", "field": "humidity", "color": "#ff0000", "axis": "right"},
    ]
    assert [s["slug"] for s in saved["streams"]] == ["sensors.alice", "sensors.lab-2"]


def test_the_editor_shows_saved_series_and_an_empty_row(
    owner: Any, dashboard: Dashboard, widget: Widget, lab_two: Stream
) -> None:
    WidgetSeries.objects.create(widget=widget, stream=lab_two, field="humidity")
    page = logged_in(owner).get(f"/d/{dashboard.pk}/widgets/{widget.pk}/").content.decode()
    assert 'name="series-0-source"' in page and 'name="series-1-source"' in page
    assert '<option value="sensors.lab-2|humidity" selected>' in page


def test_the_editor_offers_and_takes_only_streams_the_owner_reads_directly(
    owner: Any, dashboard: Dashboard, someone_elses: Stream
) -> None:
    client = logged_in(owner)
    assert "sensors.oscar" not in client.get(f"/d/{dashboard.pk}/widgets/new/").content.decode()
    post = chart_post("sensors.alice", "sensors.oscar|temperature")
    response = client.post(f"/d/{dashboard.pk}/widgets/new/", post)
    assert response.status_code == 422
    assert not WidgetSeries.objects.exists()


def test_a_series_must_be_a_numeric_field_and_not_too_many(
    owner: Any, dashboard: Dashboard, lab_two: Stream
) -> None:
    client = logged_in(owner)
    response = client.post(
        f"/d/{dashboard.pk}/widgets/new/", chart_post("sensors.alice", "sensors.lab-2|wind")
    )
    assert response.status_code == 422
    assert "has no numeric field" in response.content.decode()
    many = ["sensors.lab-2|temperature"] * (MAX_SERIES + 1)
    response = client.post(f"/d/{dashboard.pk}/widgets/new/", chart_post("sensors.alice", *many))
    assert response.status_code == 422
    assert not WidgetSeries.objects.exists()


def test_a_gauge_shows_one_stream(owner: Any, dashboard: Dashboard, lab_two: Stream) -> None:
    post = chart_post("sensors.alice", "sensors.lab-2|temperature", kind="gauge")
    response = logged_in(owner).post(f"/d/{dashboard.pk}/widgets/new/", post)
    assert response.status_code == 200
    assert not WidgetSeries.objects.exists()


def test_choosing_nothing_removes_a_series(
    owner: Any, dashboard: Dashboard, widget: Widget, lab_two: Stream
) -> None:
    WidgetSeries.objects.create(widget=widget, stream=lab_two, field="humidity")
    post = chart_post("sensors.alice", "")
    response = logged_in(owner).post(f"/d/{dashboard.pk}/widgets/{widget.pk}/", post)
    assert response.status_code == 200
    assert not WidgetSeries.objects.exists()


def export_of(dashboard: Dashboard) -> dict[str, Any]:
    return json.loads(logged_in(dashboard.owner).get(f"/d/{dashboard.pk}/export.json").content)


def upload(document: dict[str, Any]) -> SimpleUploadedFile:
    return SimpleUploadedFile("board.json", json.dumps(document).encode(), "application/json")


def test_an_export_carries_series_and_imports_them(
    owner: Any, dashboard: Dashboard, widget: Widget, lab_two: Stream
) -> None:
    WidgetSeries.objects.create(
        widget=widget, stream=lab_two, field="humidity", color="#00ff00", axis="right"
    )
    document = export_of(dashboard)
    assert document["pulseboard_dashboard"] == 2
    assert document["widgets"][0]["series"] == [
        {"stream": "sensors.lab-2", "field": "humidity", "color": "#00ff00", "axis": "right"}
    ]
    response = logged_in(owner).post("/d/import/", {"file": upload(document)})
    copy = Dashboard.objects.filter(owner=owner).order_by("-id").first()
    assert copy is not None and response["Location"] == f"/d/{copy.pk}/"
    assert list(
        WidgetSeries.objects.filter(widget__dashboard=copy).values_list("field", "axis")
    ) == [("humidity", "right")]


def test_a_version_1_file_still_imports(owner: Any, private_stream: Stream) -> None:
    document = {
        "pulseboard_dashboard": 1,
        "title": "Old",
        "widgets": [{"kind": "gauge", "stream": "sensors.alice", "config": {"fields": []}}],
    }
    response = logged_in(owner).post("/d/import/", {"file": upload(document)})
    assert response.status_code == 302
    assert Dashboard.objects.get(title="Old").widgets.count() == 1


def test_an_import_leaves_out_series_of_streams_not_the_users_and_says_so(
    owner: Any, dashboard: Dashboard, widget: Widget, someone_elses: Stream, lab_two: Stream
) -> None:
    document = export_of(dashboard)
    document["widgets"][0]["series"] = [
        {"stream": "sensors.oscar", "field": "temperature"},
        {"stream": "sensors.lab-2", "field": "temperature"},
    ]
    client = logged_in(owner)
    response = client.post("/d/import/", {"file": upload(document)}, follow=True)
    assert "Left out 1 series" in response.content.decode()
    copy = Dashboard.objects.filter(owner=owner).order_by("-id").first()
    kept = WidgetSeries.objects.filter(widget__dashboard=copy).values_list(
        "stream__slug", flat=True
    )
    assert list(kept) == ["sensors.lab-2"]


def test_a_copy_by_a_shared_user_leaves_out_series_that_are_not_theirs(
    shared_user: Any, dashboard: Dashboard, widget: Widget, lab_two: Stream
) -> None:
    public = make_stream(
        "sine.public",
        kind=SourceKind.SINE,
        title="Public",
        is_public=True,
        fields=[{"name": "value", "unit": ""}],
    )
    chart = Widget.objects.create(
        dashboard=dashboard, kind="timeseries", stream=public, config={"fields": ["value"]}
    )
    WidgetSeries.objects.create(widget=chart, stream=lab_two, field="temperature")
    response = logged_in(shared_user).post(f"/d/{dashboard.pk}/duplicate/", follow=True)
    assert "Left out 1 series" in response.content.decode()
    copy = Dashboard.objects.get(owner=shared_user, title="Copy of Plant floor")
    assert [w.stream.slug for w in copy.widgets.all()] == ["sine.public"]
    assert not WidgetSeries.objects.filter(widget__dashboard=copy).exists()
