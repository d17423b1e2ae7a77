"""Bad files and parameters: each gets a 400 that says what is wrong, and changes nothing."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dashboards.models import Dashboard, Widget
from streams.models import Stream
from tests.support.boards import snapshot
from tests.support.web import logged_in

pytestmark = pytest.mark.django_db

HUGE = "9" * 30


def upload(text: str | bytes) -> SimpleUploadedFile:
    content = text.encode() if isinstance(text, str) else text
    return SimpleUploadedFile("board.json", content, content_type="application/json")


def export_with(widget: dict[str, Any] | None = None, **top: Any) -> str:
    """Return an export of one widget on Alice's stream, with `widget` keys replaced."""
    item = {
        "kind": "timeseries",
        "stream": "sensors.alice",
        "title": "Temperature",
        "config": {"fields": ["temperature"], "window_seconds": 60},
        "x": 0,
        "y": 0,
        "w": 6,
        "h": 4,
    }
    document = {"pulseboard_dashboard": 1, "title": "Imported", "widgets": [item | (widget or {})]}
    return json.dumps(document | top)


def import_answer(client: Client, text: str | bytes) -> tuple[int, str]:
    response = client.post("/d/import/", {"file": upload(text)})
    return response.status_code, response.content.decode()


# Each file, and a phrase of the answer that says what is wrong with it.
BAD_FILES: dict[str, tuple[str | bytes, str]] = {
    "nan_threshold": (
        '{"pulseboard_dashboard": 1, "widgets": [{"kind": "timeseries", "stream": "sensors.alice",'
        ' "config": {"fields": ["temperature"], "thresholds": {"warning": NaN}}}]}',
        "NaN is not a number JSON allows",
    ),
    "infinite_minimum": (
        '{"pulseboard_dashboard": 1, "widgets": [{"kind": "gauge", "stream": "sensors.alice",'
        ' "config": {"fields": ["temperature"], "min": -Infinity}}]}',
        "-Infinity is not a number JSON allows",
    ),
    "number_overflowing_to_infinity": (
        export_with({"config": {"fields": ["temperature"], "max": 0}}).replace(
            '"max": 0', '"max": 1e999'
        ),
        "1e999 is too large a number",
    ),
    "deeply_nested": ('{"widgets": ' + "[" * 50_000 + "]" * 50_000 + "}", "nests more than"),
    "nested_within_python_limits": (
        export_with({"config": json.loads("[" * 30 + "]" * 30)}),
        "nests more than 20 levels",
    ),
    "x_as_text": (export_with({"x": "abc"}), "widgets[0].x must be a whole number"),
    "x_huge": (export_with({"x": 10**30}), "widgets[0].x must be a whole number"),
    "w_negative": (export_with({"w": -3}), "widgets[0].w must be a whole number"),
    "h_fraction": (export_with({"h": 2.5}), "widgets[0].h must be a whole number"),
    "y_null": (export_with({"y": None}), "widgets[0].y must be a whole number"),
    "y_boolean": (export_with({"y": True}), "widgets[0].y must be a whole number"),
    "config_as_list": (export_with({"config": [1, 2]}), "widgets[0].config must be an object"),
    "stream_as_object": (export_with({"stream": {"slug": "x"}}), "widgets[0].stream must be text"),
    "kind_as_number": (export_with({"kind": 3}), "widgets[0].kind must be text"),
    "title_as_object": (export_with(title={"a": 1}), "`title` must be text"),
    "nul_in_title": (export_with({"title": "a\u0000b"}), "NUL character"),
    "a_list": ("[1, 2, 3]", "an export is one JSON object"),
    "not_utf8": (b"\xff\xfe{\x00}\x00", "not UTF-8 text"),
    "truncated": (export_with()[:-5], "The file is not JSON"),
    "too_many_digits": ('{"pulseboard_dashboard": ' + "9" * 5000 + "}", "bad number"),
    "too_many_widgets": (
        json.dumps({"pulseboard_dashboard": 1, "widgets": [{}] * 201}),
        "at most 200",
    ),
}


@pytest.mark.parametrize("name", list(BAD_FILES))
def test_a_bad_import_answers_400_saying_what_is_wrong_and_creates_nothing(
    owner: Any, private_stream: Stream, name: str
) -> None:
    text, phrase = BAD_FILES[name]
    client = logged_in(owner)
    before = Dashboard.objects.count()
    status, body = import_answer(client, text)
    assert status == 400
    assert phrase in body.replace("&#x27;", "'").replace("&quot;", '"')
    assert Dashboard.objects.count() == before


def test_a_good_export_still_imports(owner: Any, private_stream: Stream) -> None:
    status, _ = import_answer(logged_in(owner), export_with({"x": 6, "w": 6}))
    assert status == 302
    widget = Widget.objects.get(dashboard__title="Imported")
    assert (widget.x, widget.w) == (6, 6)


# Any JSON value a hand-edited file might hold where a widget's settings go.
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=12,
)
config_keys = st.sampled_from(
    [
        "fields",
        "window_points",
        "window_seconds",
        "thresholds",
        "min",
        "max",
        "style",
        "stat",
        "colors",
        "axes",
        "candle_seconds",
        "depth",
    ]
)
kinds = st.sampled_from(
    [
        *("timeseries", "gauge", "stat", "counter", "feed", "viewers", "table"),
        *("candlestick", "orderbook", "trades", "nonsense"),
    ]
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(kind=kinds, config=st.dictionaries(config_keys, json_values, max_size=4))
def test_no_widget_settings_in_a_file_give_a_server_error(
    owner: Any, private_stream: Stream, kind: str, config: dict[str, Any]
) -> None:
    client = logged_in(owner)
    client.raise_request_exception = False
    status, _ = import_answer(client, export_with({"kind": kind, "config": config}))
    assert status in (302, 400)


@pytest.mark.parametrize(
    ("data", "phrase"),
    [
        ({"order": "1,two"}, "`order` must be"),
        ({"order": HUGE}, "`order` must be"),
        ({"order": "-1"}, "`order` must be"),
        ({"order": "１"}, "`order` must be"),  # a full-width digit
        ({"order": ",".join(["1"] * 1001)}, "at most 1000"),
        ({"order": "", "current": "abc"}, "`current` must be a dashboard id"),
        ({"order": "", "current": HUGE}, "`current` must be a dashboard id"),
        ({"order": "", "current": "1.5"}, "`current` must be a dashboard id"),
    ],
)
def test_reorder_with_bad_parameters_answers_400_and_moves_nothing(
    owner: Any, dashboard: Dashboard, data: dict[str, str], phrase: str
) -> None:
    before = snapshot(dashboard)
    response = logged_in(owner).post("/d/reorder/", data, HTTP_HX_REQUEST="true")
    assert response.status_code == 400
    assert phrase in response.content.decode()
    assert snapshot(dashboard) == before


def test_reorder_with_a_good_current_still_answers_the_sidebar(
    owner: Any, dashboard: Dashboard
) -> None:
    response = logged_in(owner).post(
        "/d/reorder/", {"order": str(dashboard.pk), "current": str(dashboard.pk)}
    )
    assert response.status_code == 302
    assert response["Location"] == f"/d/{dashboard.pk}/"


def test_a_layout_nested_past_what_json_can_parse_answers_400(
    owner: Any, dashboard: Dashboard, widget: Widget
) -> None:
    response = logged_in(owner).post(
        f"/d/{dashboard.pk}/layout/", "[" * 100_000, content_type="application/json"
    )
    assert response.status_code == 400
    assert "must be JSON" in response.json()["error"]


def test_a_new_dashboard_title_with_a_nul_answers_400(owner: Any) -> None:
    before = Dashboard.objects.filter(owner=owner).count()
    response = logged_in(owner).post("/d/new/", {"title": "Plant\x00floor"})
    assert response.status_code == 400
    assert "NUL" in response.content.decode()
    assert Dashboard.objects.filter(owner=owner).count() == before


@pytest.mark.parametrize("token", ["%00", "a%00b", "x" * 5000])
def test_an_odd_link_token_is_simply_not_found(token: str) -> None:
    assert Client().get(f"/share/{token}/").status_code == 404


@pytest.mark.parametrize(
    "path",
    [
        f"/d/{HUGE}/",
        f"/d/{HUGE}/export.json",
        f"/d/{HUGE}/rename/",
        f"/alerts/{HUGE}/",
    ],
)
def test_ids_past_what_a_database_key_holds_are_not_found(owner: Any, path: str) -> None:
    assert logged_in(owner).get(path).status_code == 404
