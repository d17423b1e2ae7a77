"""The widget editor: what it saves, and the errors it shows next to the inputs."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from dashboards.kinds import KINDS
from dashboards.models import Dashboard, Widget
from streams.models import SourceKind, Stream
from tests.support.factories import make_stream
from tests.support.web import logged_in

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def market(owner: Any) -> Stream:
    return make_stream(
        "price.test",
        kind=SourceKind.MARKET,
        title="Test market",
        fields=[
            {"name": "price", "unit": "USD"},
            {"name": "book", "unit": "", "type": "book"},
            {"name": "trade", "unit": "", "type": "trade"},
        ],
        owner=owner,
    )


def test_adding_a_widget_answers_with_it_for_the_page_to_draw(
    owner: Any, dashboard: Dashboard
) -> None:
    response = logged_in(owner).post(
        f"/d/{dashboard.pk}/widgets/new/",
        {
            "kind": "timeseries",
            "stream": "sensors.alice",
            "title": "Warmth",
            "fields": ["temperature"],
            "window_mode": "seconds",
            "window_value": "300",
            "style": "area",
            "custom_color_temperature": "on",
            "color_temperature": "#ff0000",
            "axis_temperature": "right",
            "warning": "25",
            "critical": "30",
            "minimum": "0",
            "maximum": "40",
        },
        **HTMX,
    )
    assert response.status_code == 200
    event = json.loads(response["HX-Trigger"])["widget-saved"]
    widget = Widget.objects.get(pk=event["widget"]["id"])
    assert widget.title == "Warmth"
    assert widget.config == {
        "fields": ["temperature"],
        "window_seconds": 300,
        "style": "area",
        "thresholds": {"warning": 25.0, "critical": 30.0},
        "min": 0.0,
        "max": 40.0,
        "colors": {"temperature": "#ff0000"},
        "axes": {"temperature": "right"},
    }
    assert event["stream"]["slug"] == "sensors.alice"
    assert event["stream"]["can_control"] is True


@pytest.mark.parametrize(
    "data,place,message",
    [
        ({"window_value": "0"}, "window", "must be a number from 1 to"),
        ({"window_value": "many"}, "window", "Enter a whole number."),
        ({"minimum": "50", "maximum": "10"}, "range", "must be above min"),
        ({"warning": "hot"}, "thresholds", "Enter a number."),
        ({"fields": ["humidity"]}, "fields", "humidity not in sensors.alice"),
        (
            {"custom_color_temperature": "on", "color_temperature": "red"},
            "series",
            "must map field names to colours",
        ),
        ({"stream": "sensors.nobody"}, "stream", "Select a valid choice"),
    ],
)
def test_a_bad_value_is_shown_next_to_its_input_and_nothing_is_saved(
    owner: Any, dashboard: Dashboard, widget: Widget, data: dict[str, Any], place: str, message: str
) -> None:
    before = (widget.kind, widget.config)
    fields = {
        "kind": "timeseries",
        "stream": "sensors.alice",
        "fields": ["temperature"],
        "window_mode": "points",
    }
    response = logged_in(owner).post(
        f"/d/{dashboard.pk}/widgets/{widget.pk}/", fields | data, **HTMX
    )
    assert response.status_code == 422
    assert "HX-Trigger" not in response
    content = response.content.decode()
    assert f'id="error-{place}"' in content
    assert message in content
    widget.refresh_from_db()
    assert (widget.kind, widget.config) == before


def test_market_kinds_need_a_market_stream(owner: Any, dashboard: Dashboard) -> None:
    count = dashboard.widgets.count()
    response = logged_in(owner).post(
        f"/d/{dashboard.pk}/widgets/new/",
        {"kind": "orderbook", "stream": "sensors.alice", "depth": "10"},
        **HTMX,
    )
    assert response.status_code == 422
    assert "needs a market stream" in response.content.decode()
    assert dashboard.widgets.count() == count


def test_market_kinds_read_their_fixed_field(
    owner: Any, dashboard: Dashboard, market: Stream
) -> None:
    response = logged_in(owner).post(
        f"/d/{dashboard.pk}/widgets/new/",
        {
            "kind": "candlestick",
            "stream": "price.test",
            "candle_seconds": "10",
            "window_value": "600",
        },
        **HTMX,
    )
    assert response.status_code == 200
    widget = dashboard.widgets.get(kind="candlestick")
    assert widget.config == {"fields": ["price"], "window_seconds": 600, "candle_seconds": 10}


def test_a_change_of_kind_redraws_the_form_without_saving(
    owner: Any, dashboard: Dashboard, widget: Widget
) -> None:
    response = logged_in(owner).post(
        f"/d/{dashboard.pk}/widgets/{widget.pk}/",
        {"kind": "gauge", "stream": "sensors.alice", "fields": ["temperature"], "_refresh": "1"},
        **HTMX,
    )
    assert response.status_code == 200
    content = response.content.decode()
    assert 'type="radio" name="fields"' in content  # a gauge shows one field
    assert 'name="minimum"' in content
    assert 'name="style"' not in content
    widget.refresh_from_db()
    assert widget.kind == "timeseries"


def test_the_editor_offers_only_streams_the_owner_may_read(
    owner: Any, outsider: Any, dashboard: Dashboard
) -> None:
    make_stream(
        "sensors.mallory",
        kind=SourceKind.SENSOR,
        title="Mallory's",
        fields=[{"name": "temperature", "unit": "°C"}],
        owner=outsider,
    )
    content = logged_in(owner).get(f"/d/{dashboard.pk}/widgets/new/", **HTMX).content.decode()
    assert "sensors.alice" in content
    assert "sensors.mallory" not in content
    response = logged_in(owner).post(
        f"/d/{dashboard.pk}/widgets/new/",
        {"kind": "gauge", "stream": "sensors.mallory", "fields": "temperature"},
        **HTMX,
    )
    assert response.status_code == 422
    assert not dashboard.widgets.filter(stream__slug="sensors.mallory").exists()


def test_removing_a_widget_tells_the_page(owner: Any, dashboard: Dashboard, widget: Widget) -> None:
    response = logged_in(owner).post(f"/d/{dashboard.pk}/widgets/{widget.pk}/delete/", **HTMX)
    assert response.status_code == 200
    assert json.loads(response["HX-Trigger"])["widget-deleted"] == {"id": widget.pk}
    assert not Widget.objects.filter(pk=widget.pk).exists()


def test_a_widget_of_another_dashboard_is_not_found(
    owner: Any, dashboard: Dashboard, widget: Widget
) -> None:
    other = Dashboard.objects.create(owner=owner, title="Other")
    response = logged_in(owner).post(f"/d/{other.pk}/widgets/{widget.pk}/delete/", **HTMX)
    assert response.status_code == 404
    assert Widget.objects.filter(pk=widget.pk).exists()


def test_a_new_widget_takes_the_size_of_its_kind(
    owner: Any, dashboard: Dashboard, market: Stream
) -> None:
    client = logged_in(owner)
    client.post(
        f"/d/{dashboard.pk}/widgets/new/",
        {"kind": "gauge", "stream": "sensors.alice", "fields": "temperature"},
        **HTMX,
    )
    client.post(
        f"/d/{dashboard.pk}/widgets/new/",
        {"kind": "candlestick", "stream": "price.test", "candle_seconds": "5"},
        **HTMX,
    )
    gauge = dashboard.widgets.get(kind="gauge")
    candles = dashboard.widgets.get(kind="candlestick")
    assert (gauge.w, gauge.h) == (3, 3)
    assert (candles.w, candles.h) == (6, 4)
    assert candles.y >= gauge.y + gauge.h, "a new widget goes below the others"


@pytest.mark.parametrize(
    "kind,shown",
    [
        ("feed", 'placeholder="50"'),
        ("trades", 'placeholder="30"'),
        ("table", 'placeholder="20"'),
        ("orderbook", 'placeholder="10"'),
        ("counter", "Counts every sample of the stream"),
        ("viewers", "watch the stream right now"),
    ],
)
def test_the_editor_shows_the_defaults_of_the_chosen_kind(
    owner: Any, dashboard: Dashboard, kind: str, shown: str
) -> None:
    response = logged_in(owner).post(
        f"/d/{dashboard.pk}/widgets/new/",
        {"kind": kind, "stream": "sensors.alice", "_refresh": "1"},
        **HTMX,
    )
    assert response.status_code == 200
    assert shown in response.content.decode()


def test_a_feed_offers_fields_that_are_not_numbers_and_a_gauge_does_not(
    owner: Any, dashboard: Dashboard
) -> None:
    make_stream(
        "business.alice",
        kind=SourceKind.BUSINESS,
        title="Alice's sales",
        fields=[{"name": "label", "unit": "", "type": "text"}, {"name": "value", "unit": ""}],
        owner=owner,
    )
    client = logged_in(owner)
    offered = {}
    for kind in ("feed", "gauge"):
        content = client.post(
            f"/d/{dashboard.pk}/widgets/new/",
            {"kind": kind, "stream": "business.alice", "_refresh": "1"},
            **HTMX,
        ).content.decode()
        offered[kind] = 'data-field="label"' in content
    assert offered == {"feed": True, "gauge": False}


def test_the_page_gets_the_row_of_every_kind(owner: Any, dashboard: Dashboard) -> None:
    content = logged_in(owner).get(f"/d/{dashboard.pk}/").content.decode()
    data = content.split('id="board-data" type="application/json">')[1].split("</script>")[0]
    kinds = json.loads(data)["kinds"]
    assert list(kinds) == list(KINDS)
    assert kinds["timeseries"]["backfill"] == {
        "points": 600,
        "window_points": True,
        "window_seconds": True,
        "candles": 0,
    }
    assert kinds["feed"]["any_field"] is True


def test_every_kind_has_a_module_on_the_page() -> None:
    index = (ROOT / "static/js/widgets/index.js").read_text()
    registered = re.search(r"const KINDS = \{([^}]*)\}", index)
    assert registered is not None
    names = {name.strip().split(":")[0] for name in registered.group(1).split(",")}
    assert names == set(KINDS)
