"""Alert rules evaluated on the data path: every stored batch moves their state on.

A rule is *pending* from the first sample that meets its condition and *fires*
once the condition has held for `duration_seconds`; the first sample that does
not meet it resolves the event. State lives in the rule's row, so whichever
process stores a stream's samples can evaluate its rules.
"""

from __future__ import annotations

from typing import Literal

from dashboards.models import AlertCondition, AlertEvent, AlertRule
from streams.access import stream_can_read
from streams.clock import now_ms
from streams.contract import AlertFrame, Outgoing, SampleFrame, user_alert_message, user_group


def rule_holds(rule: AlertRule, sample: SampleFrame) -> tuple[bool | None, float | None]:
    """Return whether the sample meets the rule's condition (None: it has no such field)."""
    value = sample["values"].get(rule.field)
    number = value if isinstance(value, int | float) and not isinstance(value, bool) else None
    if rule.condition == AlertCondition.ANOMALY:
        return "anomaly" in sample.get("flags", ()), number
    if number is None or rule.threshold is None:
        return None, None
    if rule.condition == AlertCondition.ABOVE:
        return number > rule.threshold, number
    return number < rule.threshold, number


def describe(rule: AlertRule, value: float | None) -> str:
    shown = "" if value is None else f" ({value:g})"
    if rule.condition == AlertCondition.ANOMALY:
        return f"{rule.name}: {rule.stream.slug} {rule.field} is anomalous{shown}"
    return (
        f"{rule.name}: {rule.stream.slug} {rule.field} {rule.condition} {rule.threshold:g}{shown}"
    )


def alert_frame(
    rule: AlertRule, event: AlertEvent, state: Literal["firing", "resolved"]
) -> AlertFrame:
    return {
        "type": "alert",
        "state": state,
        "rule": rule.pk,
        "event": event.pk,
        "name": rule.name,
        "stream": rule.stream.slug,
        "field": rule.field,
        "value": event.value,
        "t": event.resolved if state == "resolved" else event.started,
        "message": event.message,
    }


def alert_notice(
    rule: AlertRule, event: AlertEvent, state: Literal["firing", "resolved"]
) -> Outgoing:
    return user_group(rule.owner_id), user_alert_message(alert_frame(rule, event, state))


def rule_silence(rule: AlertRule) -> None:
    """Close what a rule had open, without a notice, when its owner may no longer read its stream."""
    if rule.firing or rule.pending_since is not None:
        rule.events.filter(resolved__isnull=True).update(resolved=now_ms())
        rule.firing, rule.pending_since = False, None
        rule.save(update_fields=["pending_since", "firing"])


def alerts_evaluate(batches: dict[int, list[SampleFrame]]) -> list[Outgoing]:
    """Move every enabled rule on the batches' streams on; return the alerts for owners' pages."""
    notices: list[Outgoing] = []
    rules = AlertRule.objects.filter(stream_id__in=list(batches), enabled=True).select_related(
        "stream", "owner"
    )
    for rule in rules:
        if not stream_can_read(rule.stream, rule.owner):
            # Its owner lost the stream: the rule says nothing more of its values.
            rule_silence(rule)
            continue
        before = (rule.pending_since, rule.firing)
        for sample in batches[rule.stream_id]:
            holds, value = rule_holds(rule, sample)
            if holds is None:
                continue
            if holds:
                if rule.pending_since is None:
                    rule.pending_since = sample["t"]
                if (
                    not rule.firing
                    and sample["t"] - rule.pending_since >= rule.duration_seconds * 1000
                ):
                    rule.firing = True
                    event = AlertEvent.objects.create(
                        rule=rule,
                        started=sample["t"],
                        value=value,
                        message=describe(rule, value)[:300],
                    )
                    notices.append(alert_notice(rule, event, "firing"))
            else:
                rule.pending_since = None
                if rule.firing:
                    rule.firing = False
                    event = rule.events.filter(resolved__isnull=True).order_by("-started").first()
                    if event is not None:
                        event.resolved = sample["t"]
                        event.save(update_fields=["resolved"])
                        notices.append(alert_notice(rule, event, "resolved"))
        if (rule.pending_since, rule.firing) != before:
            rule.save(update_fields=["pending_since", "firing"])
    return notices
