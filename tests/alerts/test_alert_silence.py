"""Silence is counted from the newest stored sample; a rule whose owner loses the stream goes quiet.

`no_data_seconds` runs from the stream's newest stored sample (or from when the
rule was last moved, if later). A rule that was firing when its owner lost the
stream closes its event, saying why, and sends no notice; it starts afresh
once the owner reads the stream again.
"""

from __future__ import annotations

from typing import Any

import pytest

from alerts.evaluation import alerts_tick
from alerts.models import AlertEvent, AlertRule
from streams.models import Stream
from tests.alerts.alert_helpers import T0, rule_from_t0, states, temperature
from tests.support.samples import samples_store

pytestmark = pytest.mark.django_db


def make_rule(owner: Any, stream: Stream, **settings: Any) -> AlertRule:
    """A rule of the shared defaults whose state counts from T0, firing at once unless held."""
    return rule_from_t0(owner, stream, **({"duration_seconds": 0} | settings))


def test_silence_is_counted_from_the_newest_stored_sample(owner: Any, stream: Stream) -> None:
    make_rule(owner, stream, condition="nodata", threshold=None, no_data_seconds=10)
    samples_store(stream, range(1, 6))  # one a second: the newest at T0 + 5 s
    assert alerts_tick(T0 + 14_999) == []
    assert states(alerts_tick(T0 + 15_000)) == ["no data"]


def test_a_firing_rule_whose_owner_loses_the_stream_closes_quietly_saying_why(
    owner: Any, staff: Any, stream: Stream
) -> None:
    rule = make_rule(owner=staff, stream=stream)
    assert states(temperature(stream, T0, 35)) == ["firing"]
    type(staff).objects.filter(pk=staff.pk).update(is_staff=False)
    assert temperature(stream, T0 + 1_000, 20) == []
    event = AlertEvent.objects.get(rule=rule)
    assert event.resolved is not None
    assert event.resolved_reason == "its owner may no longer read the stream"
    rule.refresh_from_db()
    assert (rule.state, rule.pending_since, rule.clearing_since) == ("ok", None, None)
    # Staff again: the rule judges new samples from scratch.
    type(staff).objects.filter(pk=staff.pk).update(is_staff=True)
    assert states(temperature(stream, T0 + 2_000, 36)) == ["firing"]
    assert AlertEvent.objects.filter(rule=rule).count() == 2
