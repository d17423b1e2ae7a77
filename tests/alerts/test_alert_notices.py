"""What each condition fires on, and what its notices say on the owner's page and in its events.

`above` and `below` fire strictly beyond the threshold; `anomaly` on a sample
flagged so; a sample without a number for the field says nothing. A firing
notice names the rule, the stream, the field, the condition and the value; a
resolved one tells the value of its own moment; the page's frame carries the
rule, the event and whether the browser should notify.
"""

from __future__ import annotations

from typing import Any, cast

import pytest

from alerts.evaluation import alerts_evaluate, alerts_tick
from alerts.models import AlertEvent, AlertRule
from alerts.services import contact_save
from streams.models import Stream
from tests.alerts.alert_helpers import T0, rule_from_t0, temperature

pytestmark = pytest.mark.django_db


def make_rule(owner: Any, stream: Stream, **settings: Any) -> AlertRule:
    """A rule of the shared defaults whose state counts from T0, firing at once unless held."""
    return rule_from_t0(owner, stream, **({"duration_seconds": 0} | settings))


def sample(stream: Stream, t: int, values: dict[str, Any], flags: list[str]) -> list[Any]:
    """Move the stream's rules on by one stored sample with these values and flags."""
    return alerts_evaluate(
        {stream.pk: [{"seq": t - T0 + 1, "t": t, "values": values, "flags": flags}]}
    )


def frames(notices: list[Any]) -> list[dict[str, Any]]:
    return [cast(dict[str, Any], message)["frame"] for _, message in notices]


def state_of(rule: AlertRule) -> str:
    rule.refresh_from_db()
    return rule.state


def test_above_fires_strictly_above_the_threshold(owner: Any, stream: Stream) -> None:
    rule = make_rule(owner, stream)
    assert temperature(stream, T0, 30.0) == []
    assert state_of(rule) == "ok"
    assert [f["state"] for f in frames(temperature(stream, T0 + 1_000, 30.5))] == ["firing"]


def test_below_fires_strictly_below_the_threshold_and_says_so(owner: Any, stream: Stream) -> None:
    rule = make_rule(owner, stream, name="Too cold", condition="below", threshold=10.0)
    assert temperature(stream, T0, 10.0) == []
    assert temperature(stream, T0 + 1_000, 12.0) == []
    assert state_of(rule) == "ok"
    (firing,) = frames(temperature(stream, T0 + 2_000, 4.5))
    assert firing["state"] == "firing"
    assert firing["message"] == "Too cold: sensors.alice temperature below 10 (4.5)"
    assert firing["reason"] == "temperature met “below the threshold” at once"


def test_a_firing_notice_names_rule_stream_field_condition_and_value(
    owner: Any, stream: Stream
) -> None:
    rule = make_rule(owner, stream, duration_seconds=5)
    temperature(stream, T0, 35.5)
    (firing,) = frames(alerts_tick(T0 + 5_000))
    event = AlertEvent.objects.get()
    assert firing == {
        "type": "alert",
        "state": "firing",
        "rule": rule.pk,
        "event": event.pk,
        "name": "Too warm",
        "stream": "sensors.alice",
        "field": "temperature",
        "value": 35.5,
        "t": T0 + 5_000,
        "message": "Too warm: sensors.alice temperature above 30 (35.5)",
        "reason": "temperature met “above the threshold” for 5 s",
        "notify": False,
    }
    assert (event.message, event.reason) == (firing["message"], firing["reason"])
    assert (event.kind, event.started, event.value) == ("firing", T0 + 5_000, 35.5)


def test_a_resolved_notice_tells_the_value_of_its_moment(owner: Any, stream: Stream) -> None:
    make_rule(owner, stream)
    temperature(stream, T0, 35)
    (resolved,) = frames(temperature(stream, T0 + 1_000, 21.25))
    assert resolved["state"] == "resolved"
    assert resolved["message"] == "Too warm: sensors.alice temperature is 21.25 now"
    assert resolved["value"] == 21.25 and resolved["t"] == T0 + 1_000
    event = AlertEvent.objects.get()
    assert resolved["event"] == event.pk
    assert (event.resolved, event.resolved_reason) == (
        T0 + 1_000,
        "temperature was back to normal at once",
    )


def test_a_browser_contact_makes_the_page_notify(owner: Any, stream: Stream) -> None:
    browser = contact_save(owner=owner, name="This browser", kind="browser")
    make_rule(owner, stream, contacts=[browser])
    (firing,) = frames(temperature(stream, T0, 35))
    assert firing["notify"] is True


def test_an_anomaly_rule_fires_on_a_flagged_sample_and_shows_its_value(
    owner: Any, stream: Stream
) -> None:
    rule = make_rule(owner, stream, name="Odd", condition="anomaly", threshold=None)
    assert sample(stream, T0, {"temperature": 7}, ["spike"]) == []
    assert state_of(rule) == "ok"
    (firing,) = frames(sample(stream, T0 + 1_000, {"temperature": 7}, ["anomaly"]))
    assert firing["message"] == "Odd: sensors.alice temperature is anomalous (7)"
    assert [f["state"] for f in frames(sample(stream, T0 + 2_000, {"temperature": 8}, []))] == [
        "resolved"
    ]


def test_a_sample_without_a_number_for_the_field_says_nothing(owner: Any, stream: Stream) -> None:
    rule = make_rule(owner, stream)
    temperature(stream, T0, 35)
    for values in ({"humidity": 5}, {"temperature": "hot"}, {"temperature": True}):
        assert sample(stream, T0 + 1_000, values, []) == []
    assert state_of(rule) == "firing"


def test_a_no_data_notice_says_the_stream_sends_nothing(owner: Any, stream: Stream) -> None:
    make_rule(owner, stream, name="Silent", condition="nodata", threshold=None, no_data_seconds=3)
    (nodata,) = frames(alerts_tick(T0 + 3_000))
    assert nodata["state"] == "no data" and nodata["value"] is None
    assert nodata["message"] == "Silent: sensors.alice sends no data"
    assert AlertEvent.objects.get().kind == "nodata"


def test_samples_after_silence_resolve_with_their_value_or_say_it_is_over(
    owner: Any, stream: Stream
) -> None:
    make_rule(owner, stream, name="Silent", condition="nodata", threshold=None, no_data_seconds=3)
    alerts_tick(T0 + 3_000)
    (resolved,) = frames(sample(stream, T0 + 4_000, {"humidity": 5}, []))
    assert resolved["reason"] == "samples arrive again"
    assert resolved["message"] == "Silent: sensors.alice temperature is no longer alerting"
    alerts_tick(T0 + 8_000)
    (again,) = frames(temperature(stream, T0 + 9_000, 18))
    assert again["message"] == "Silent: sensors.alice temperature is 18 now"
    assert again["value"] == 18


def test_a_firing_rule_whose_stream_stops_says_it_can_no_longer_be_judged(
    owner: Any, stream: Stream
) -> None:
    make_rule(owner, stream)
    temperature(stream, T0, 35)
    Stream.objects.filter(pk=stream.pk).update(running=False)
    resolved, nodata = frames(alerts_tick(T0 + 1_000))
    assert resolved["state"] == "resolved"
    assert resolved["reason"] == "its stream was stopped, so the alert can no longer be judged"
    assert nodata["state"] == "no data" and nodata["reason"] == "its stream was stopped"
