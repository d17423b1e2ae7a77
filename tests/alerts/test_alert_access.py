"""Alert rules follow the access rule: a rule says nothing of a stream its owner lost."""

from __future__ import annotations

from typing import Any, cast

import pytest

from alerts.evaluation import alerts_evaluate
from alerts.models import AlertEvent, AlertRule
from dashboards import services
from dashboards.models import Dashboard
from streams.messages import UserAlertMessage, sample_frame
from streams.models import Stream
from tests.alerts.alert_helpers import rule_save

pytestmark = pytest.mark.django_db


@pytest.fixture
def bobs_rule(
    owner: Any, private_stream: Stream, shared_user: Any, dashboard: Dashboard
) -> AlertRule:
    """Bob's rule on Alice's private sensor, which her dashboard shares with him."""
    return rule_save(
        shared_user,
        name="Too warm",
        stream=private_stream,
        field="temperature",
        condition="above",
        threshold=30.0,
        duration_seconds=0,
        enabled=True,
    )


def warm(stream: Stream, seq: int) -> dict[int, list[Any]]:
    return {stream.pk: [sample_frame(seq, 1_700_000_000_000 + seq, {"temperature": 35.0})]}


def test_a_shared_stream_fires_its_readers_rule(
    bobs_rule: AlertRule, private_stream: Stream
) -> None:
    notices = alerts_evaluate(warm(private_stream, 1))
    frames = [cast(UserAlertMessage, message)["frame"] for _, message in notices]
    assert [frame["state"] for frame in frames] == ["firing"]


def test_a_rule_goes_quiet_when_its_owner_loses_the_stream(
    bobs_rule: AlertRule, private_stream: Stream, dashboard: Dashboard, shared_user: Any
) -> None:
    alerts_evaluate(warm(private_stream, 1))
    services.share_remove(dashboard=dashboard, user_id=shared_user.pk)
    assert alerts_evaluate(warm(private_stream, 2)) == []
    bobs_rule.refresh_from_db()
    assert not bobs_rule.firing
    assert not AlertEvent.objects.filter(rule=bobs_rule, resolved__isnull=True).exists()
