"""Rule states on a driven clock: the duration hold both ways, no data, stops, rate limits, claims."""

from __future__ import annotations

from typing import Any

import pytest

from alerts.evaluation import Change, alerts_tick, rule_commit, rule_on_clock, rules_move_on
from alerts.models import AlertEvent, AlertRule, Delivery
from streams.models import Stream
from tests.alerts.alert_helpers import T0, rule_from_t0, states, temperature

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def loopback_receivers(settings: Any) -> None:
    """Webhooks here point at loopback, which the operator must allow (the loopback demo does)."""
    settings.PULSEBOARD_WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.0/8", "::1/128"]


def state_of(rule: AlertRule) -> str:
    rule.refresh_from_db()
    return rule.state


def set_running(stream: Stream, running: bool) -> None:
    Stream.objects.filter(pk=stream.pk).update(running=running)


def test_it_fires_only_once_the_condition_has_held_for_the_duration(
    owner: Any, stream: Stream
) -> None:
    rule = rule_from_t0(owner, stream)
    assert temperature(stream, T0, 35) == []
    assert state_of(rule) == "pending"
    assert alerts_tick(T0 + 4_999) == []
    assert states(alerts_tick(T0 + 5_000)) == ["firing"]
    assert alerts_tick(T0 + 6_000) == []
    event = AlertEvent.objects.get()
    assert (event.started, event.value, event.resolved) == (T0 + 5_000, 35.0, None)
    assert "for 5 s" in event.reason


def test_a_condition_that_clears_while_pending_never_fires(owner: Any, stream: Stream) -> None:
    rule = rule_from_t0(owner, stream)
    temperature(stream, T0, 35)
    temperature(stream, T0 + 3_000, 25)
    assert alerts_tick(T0 + 10_000) == []
    assert state_of(rule) == "ok"
    assert not AlertEvent.objects.exists()


def test_it_resolves_once_the_condition_has_stayed_clear_as_long(
    owner: Any, stream: Stream
) -> None:
    rule = rule_from_t0(owner, stream)
    temperature(stream, T0, 35)
    temperature(stream, T0 + 5_000, 36)
    assert state_of(rule) == "firing"
    assert temperature(stream, T0 + 10_000, 25) == []
    assert alerts_tick(T0 + 14_999) == []
    notices = alerts_tick(T0 + 15_000)
    assert states(notices) == ["resolved"]
    assert notices[0][1]["frame"]["reason"] == "temperature was back to normal for 5 s"  # type: ignore[typeddict-item]
    event = AlertEvent.objects.get()
    assert event.resolved == T0 + 15_000


def test_a_blip_back_over_the_threshold_restarts_the_hold(owner: Any, stream: Stream) -> None:
    rule = rule_from_t0(owner, stream)
    temperature(stream, T0, 35)
    alerts_tick(T0 + 5_000)
    temperature(stream, T0 + 6_000, 25)
    temperature(stream, T0 + 9_000, 33)
    temperature(stream, T0 + 10_000, 25)
    assert alerts_tick(T0 + 14_000) == []
    assert state_of(rule) == "firing"
    assert states(alerts_tick(T0 + 15_000)) == ["resolved"]


def test_a_rule_without_duration_fires_and_resolves_with_the_samples(
    owner: Any, stream: Stream
) -> None:
    rule_from_t0(owner, stream, duration_seconds=0)
    assert states(temperature(stream, T0, 35)) == ["firing"]
    assert states(temperature(stream, T0 + 1_000, 25)) == ["resolved"]


def test_a_silent_stream_is_no_data_until_samples_arrive_again(owner: Any, stream: Stream) -> None:
    rule = rule_from_t0(owner, stream, no_data_seconds=10)
    temperature(stream, T0, 25)
    assert alerts_tick(T0 + 9_999) == []
    notices = alerts_tick(T0 + 10_000)
    assert states(notices) == ["no data"]
    assert notices[0][1]["frame"]["reason"] == "no sample for 10 s"  # type: ignore[typeddict-item]
    assert alerts_tick(T0 + 30_000) == []
    assert state_of(rule) == "nodata"
    assert states(temperature(stream, T0 + 31_000, 25)) == ["resolved"]
    assert state_of(rule) == "ok"
    assert [e.kind for e in AlertEvent.objects.all()] == ["nodata"]


def test_a_firing_rule_whose_stream_goes_silent_resolves_then_is_no_data(
    owner: Any, stream: Stream
) -> None:
    rule_from_t0(owner, stream, duration_seconds=0, no_data_seconds=10)
    temperature(stream, T0, 35)
    assert states(alerts_tick(T0 + 10_000)) == ["resolved", "no data"]


def test_a_no_data_rule_watches_silence_only(owner: Any, stream: Stream) -> None:
    rule_from_t0(owner, stream, condition="nodata", threshold=None, no_data_seconds=3)
    assert temperature(stream, T0, 99) == []
    assert states(alerts_tick(T0 + 3_000)) == ["no data"]


def test_stopping_the_stream_marks_its_rules_no_data(owner: Any, stream: Stream) -> None:
    rule = rule_from_t0(owner, stream, duration_seconds=0)
    temperature(stream, T0, 35)
    set_running(stream, False)
    notices = alerts_tick(T0 + 1_000)
    assert states(notices) == ["resolved", "no data"]
    assert notices[1][1]["frame"]["reason"] == "its stream was stopped"  # type: ignore[typeddict-item]
    assert alerts_tick(T0 + 2_000) == []
    set_running(stream, True)
    assert alerts_tick(T0 + 3_000) == []
    assert state_of(rule) == "nodata"
    assert states(temperature(stream, T0 + 4_000, 25)) == ["resolved"]


def test_stopping_the_stream_resolves_quietly_when_the_user_chose_so(
    owner: Any, stream: Stream
) -> None:
    rule = rule_from_t0(owner, stream, duration_seconds=0, on_stop="resolve", no_data_seconds=5)
    temperature(stream, T0, 35)
    set_running(stream, False)
    assert states(alerts_tick(T0 + 1_000)) == ["resolved"]
    assert alerts_tick(T0 + 60_000) == []
    assert state_of(rule) == "ok"
    # Started again, silence is counted from the start.
    set_running(stream, True)
    assert alerts_tick(T0 + 61_000) == []
    assert alerts_tick(T0 + 65_999) == []
    assert states(alerts_tick(T0 + 66_000)) == ["no data"]


def test_repeated_firing_is_held_back_within_the_interval(owner: Any, stream: Stream) -> None:
    contact = services_contact(owner)
    rule_from_t0(owner, stream, duration_seconds=0, min_interval_seconds=60, contacts=[contact])
    temperature(stream, T0, 35)
    temperature(stream, T0 + 1_000, 25)
    flap = temperature(stream, T0 + 10_000, 35)
    temperature(stream, T0 + 11_000, 25)
    later = temperature(stream, T0 + 61_000, 35)
    assert [message["frame"]["notify"] for _, message in flap] == [False]  # type: ignore[typeddict-item]
    assert [message["frame"]["state"] for _, message in later] == ["firing"]  # type: ignore[typeddict-item]
    rows = Delivery.objects.order_by("id").values_list("state", "status")
    assert list(rows) == [
        ("firing", "queued"),
        ("resolved", "queued"),
        ("firing", "held"),
        ("resolved", "held"),
        ("firing", "queued"),
    ]
    held = Delivery.objects.filter(status="held").first()
    assert held is not None and "fired again within 60 s" in held.reason


def services_contact(owner: Any) -> Any:
    from alerts.services import contact_save

    return contact_save(owner=owner, name="Hook", kind="webhook", url="http://127.0.0.1:9/hook")


def test_a_transition_seen_by_two_processes_is_recorded_once(owner: Any, stream: Stream) -> None:
    rule = rule_from_t0(owner, stream, duration_seconds=0, contacts=[services_contact(owner)])
    first, second = AlertRule.objects.get(pk=rule.pk), AlertRule.objects.get(pk=rule.pk)
    change = Change("firing", T0, 35.0, "temperature met the condition")
    assert rule_commit(first, first.version, [change]) is not None
    assert rule_commit(second, second.version, [change]) is None
    assert AlertEvent.objects.count() == 1
    assert Delivery.objects.count() == 1


def test_a_stale_evaluator_goes_on_from_what_the_other_recorded(owner: Any, stream: Stream) -> None:
    rule = rule_from_t0(owner, stream)
    temperature(stream, T0, 35)
    stale = AlertRule.objects.select_related("stream", "owner").get(pk=rule.pk)
    # Another producer's timer saw this second first and recorded the firing.
    assert states(alerts_tick(T0 + 5_000)) == ["firing"]

    def move(rule: AlertRule, changes: list[Change]) -> None:
        rule_on_clock(rule, changes, now=T0 + 5_000, running=True, latest_t=T0)

    assert rules_move_on([stale], move) == []
    assert stale.state == "firing"
    assert AlertEvent.objects.filter(rule=rule).count() == 1
