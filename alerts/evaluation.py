"""Alert rules moved on by stored samples and by the clock.

A rule is *pending* from the first sample that meets its condition and *fires*
once the condition has held for `duration_seconds`; once firing, the condition
must stay clear as long again before the rule *resolves*. A stream that sends
nothing for `no_data_seconds`, or that is stopped (when the rule says so), puts
the rule in *no data* until samples arrive again.

The state lives in the rule's row. Every change is claimed with an UPDATE on the
row's `version`, so when several processes see the same samples or the same
second (a push in a web process, the producer's timer), exactly one records
each transition and queues its deliveries; the others find the row moved on.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from django.db import connection, transaction

from alerts.delivery import deliveries_queue, rule_has_browser_contact
from alerts.models import (
    AlertCondition,
    AlertEvent,
    AlertRule,
    AlertState,
    EventKind,
    StopChoice,
)
from streams.access import stream_can_read
from streams.clock import now_ms
from streams.messages import AlertFrame, Outgoing, SampleFrame, user_alert_message, user_group
from streams.models import Sample
from streams.publishing import send_after_commit

NoticeState = Literal["firing", "resolved", "no data"]
# The rule's fields that evaluation changes; saved together, under a claim.
STATE_FIELDS = (
    "state",
    "state_since",
    "pending_since",
    "clearing_since",
    "last_value",
    "last_notified",
    "stream_stopped",
)
# A change that lost its claim to another process is evaluated again, this often.
CLAIM_TRIES = 3


Move = Callable[[AlertRule, list["Change"]], None]


@dataclass
class Change:
    """A transition decided in memory, recorded once its claim succeeds."""

    state: NoticeState
    t: int
    value: float | None
    reason: str
    notified: bool = True


def rule_holds(rule: AlertRule, sample: SampleFrame) -> tuple[bool | None, float | None]:
    """Return whether the sample meets the rule's condition (None: it says nothing of it)."""
    value = sample["values"].get(rule.field)
    number = value if isinstance(value, int | float) and not isinstance(value, bool) else None
    if rule.condition == AlertCondition.NODATA:
        return None, number
    if rule.condition == AlertCondition.ANOMALY:
        return "anomaly" in sample.get("flags", ()), number
    if number is None or rule.threshold is None:
        return None, None
    if rule.condition == AlertCondition.ABOVE:
        return number > rule.threshold, number
    return number < rule.threshold, number


def describe(rule: AlertRule, value: float | None) -> str:
    """Return the rule's condition as met, for messages."""
    shown = "" if value is None else f" ({value:g})"
    if rule.condition == AlertCondition.ANOMALY:
        return f"{rule.name}: {rule.stream.slug} {rule.field} is anomalous{shown}"
    if rule.condition == AlertCondition.NODATA:
        return f"{rule.name}: {rule.stream.slug} sends no data"
    return (
        f"{rule.name}: {rule.stream.slug} {rule.field} {rule.condition} {rule.threshold:g}{shown}"
    )


def describe_now(rule: AlertRule, value: float | None) -> str:
    """Return what a resolved notice says: the field's value at that moment."""
    if value is None:
        return f"{rule.name}: {rule.stream.slug} {rule.field} is no longer alerting"
    return f"{rule.name}: {rule.stream.slug} {rule.field} is {value:g} now"


def held_for(rule: AlertRule) -> str:
    return f"for {rule.duration_seconds} s" if rule.duration_seconds else "at once"


# -- moving a rule on, in memory -------------------------------------------------


def rule_fire(rule: AlertRule, changes: list[Change], t: int) -> None:
    rule.state, rule.state_since = AlertState.FIRING, t
    rule.pending_since = rule.clearing_since = None
    reason = f"{rule.field} met “{rule.get_condition_display()}” {held_for(rule)}"
    # Flapping must not become a storm: a rule notifies of firing at most once per interval.
    interval_ms = rule.min_interval_seconds * 1000
    notified = rule.last_notified is None or t - rule.last_notified >= interval_ms
    if notified:
        rule.last_notified = t
    changes.append(Change("firing", t, rule.last_value, reason, notified))


def rule_resolve(rule: AlertRule, changes: list[Change], t: int, reason: str) -> None:
    rule.state, rule.state_since = AlertState.OK, t
    rule.pending_since = rule.clearing_since = None
    changes.append(Change("resolved", t, rule.last_value, reason))


def rule_no_data(rule: AlertRule, changes: list[Change], t: int, reason: str) -> None:
    if rule.state == AlertState.FIRING:
        rule_resolve(rule, changes, t, f"{reason}, so the alert can no longer be judged")
    rule.state, rule.state_since = AlertState.NODATA, t
    rule.pending_since = rule.clearing_since = None
    changes.append(Change("no data", t, None, reason))


def rule_on_sample(rule: AlertRule, sample: SampleFrame, changes: list[Change]) -> None:
    """Move the rule on by one stored sample."""
    t = sample["t"]
    holds, value = rule_holds(rule, sample)
    if rule.state == AlertState.NODATA:
        # The resolution tells the value that arrived, not one from before the silence.
        rule.last_value = value if value is not None else rule.last_value
        rule_resolve(rule, changes, t, "samples arrive again")
    if holds is None:
        return
    if value is not None:
        rule.last_value = value
    hold_ms = rule.duration_seconds * 1000
    if holds:
        rule.clearing_since = None
        if rule.state == AlertState.OK:
            rule.state, rule.state_since, rule.pending_since = AlertState.PENDING, t, t
        if rule.state == AlertState.PENDING and t - (rule.pending_since or t) >= hold_ms:
            rule_fire(rule, changes, t)
    elif rule.state == AlertState.PENDING:
        rule.state, rule.state_since, rule.pending_since = AlertState.OK, t, None
    elif rule.state == AlertState.FIRING:
        if rule.clearing_since is None:
            rule.clearing_since = t
        if t - rule.clearing_since >= hold_ms:
            rule_resolve(rule, changes, t, f"{rule.field} was back to normal {held_for(rule)}")


def rule_on_clock(
    rule: AlertRule, changes: list[Change], *, now: int, running: bool, latest_t: int | None
) -> None:
    """Move the rule on by the time that passed: holds that ran out, silence, a stop."""
    if not running:
        if not rule.stream_stopped:
            rule.stream_stopped = True
            if rule.state == AlertState.PENDING:
                rule.state, rule.state_since, rule.pending_since = AlertState.OK, now, None
            if rule.on_stop == StopChoice.NODATA and rule.state != AlertState.NODATA:
                rule_no_data(rule, changes, now, "its stream was stopped")
            elif rule.on_stop == StopChoice.RESOLVE and rule.state == AlertState.FIRING:
                rule_resolve(rule, changes, now, "its stream was stopped")
        return
    if rule.stream_stopped:
        # Started again: silence is counted from now, not from before the stop.
        rule.stream_stopped = False
        if rule.state != AlertState.NODATA:
            rule.state_since = now
    hold_ms = rule.duration_seconds * 1000
    if rule.state == AlertState.PENDING and now - (rule.pending_since or now) >= hold_ms:
        rule_fire(rule, changes, now)
    elif (
        rule.state == AlertState.FIRING
        and rule.clearing_since is not None
        and now - rule.clearing_since >= hold_ms
    ):
        rule_resolve(rule, changes, now, f"{rule.field} was back to normal {held_for(rule)}")
    if rule.no_data_seconds and rule.state != AlertState.NODATA:
        heard = max(latest_t or 0, rule.state_since or 0)
        if now - heard >= rule.no_data_seconds * 1000:
            rule_no_data(rule, changes, now, f"no sample for {rule.no_data_seconds} s")


# -- recording what was decided -----------------------------------------------------


def alert_frame(
    rule: AlertRule, event: AlertEvent, change: Change, message: str, notify: bool
) -> AlertFrame:
    """Return the page's frame of a transition: the value and message of that moment."""
    return {
        "type": "alert",
        "state": change.state,
        "rule": rule.pk,
        "event": event.pk,
        "name": rule.name,
        "stream": rule.stream.slug,
        "field": rule.field,
        "value": change.value,
        "t": change.t,
        "message": message,
        "reason": change.reason,
        "notify": notify,
    }


def change_record(rule: AlertRule, change: Change) -> list[Outgoing]:
    """Store the event a transition opens or closes, queue its deliveries; return its page frame."""
    if change.state == "resolved":
        event = rule.events.filter(resolved__isnull=True).order_by("-started", "-id").first()
        if event is None:
            return []
        event.resolved, event.resolved_reason = change.t, change.reason[:300]
        event.save(update_fields=["resolved", "resolved_reason"])
    else:
        event = AlertEvent.objects.create(
            rule=rule,
            kind=EventKind.FIRING if change.state == "firing" else EventKind.NODATA,
            started=change.t,
            value=change.value,
            message=describe(rule, change.value)[:300],
            reason=change.reason[:300],
            notified=change.notified,
        )
    # A resolution tells the value of its own moment, not the one that fired.
    message = (
        describe_now(rule, change.value)[:300] if change.state == "resolved" else event.message
    )
    deliveries_queue(
        rule=rule,
        event=event,
        state=change.state,
        reason=change.reason,
        value=change.value,
        message=message,
    )
    notify = event.notified and rule_has_browser_contact(rule)
    frame = alert_frame(rule, event, change, message, notify)
    return [(user_group(rule.owner_id), user_alert_message(frame))]


def rule_commit(rule: AlertRule, version: int, changes: list[Change]) -> list[Outgoing] | None:
    """Claim the rule's new state and record its transitions; None when another process won."""
    fields = {name: getattr(rule, name) for name in STATE_FIELDS}
    with transaction.atomic():
        claimed = AlertRule.objects.filter(pk=rule.pk, version=version).update(
            version=version + 1, **fields
        )
        if not claimed:
            return None
        outgoing: list[Outgoing] = []
        for change in changes:
            outgoing.extend(change_record(rule, change))
    rule.version = version + 1
    return outgoing


def rule_close(rule_id: int, reason: str) -> int | None:
    """Resolve what a rule has open, with its notices, before it is changed, turned off or deleted.

    The rule is read as stored (its definition and contact points from before
    the change) and resolved under its claim, like any transition, so each
    contact point hears `resolved` once, whichever process moved the rule last.
    Return the row's version after, or None when it is gone or kept moving.
    """
    for _ in range(CLAIM_TRIES):
        rule = AlertRule.objects.select_related("stream", "owner").filter(pk=rule_id).first()
        if rule is None:
            return None
        if rule.state not in (AlertState.FIRING, AlertState.NODATA):
            return rule.version
        version, changes = rule.version, list[Change]()
        rule_resolve(rule, changes, now_ms(), reason)
        recorded = rule_commit(rule, version, changes)
        if recorded is not None:
            send_after_commit(recorded)
            return rule.version
    return None


def snapshot(rule: AlertRule) -> tuple[object, ...]:
    return tuple(getattr(rule, name) for name in STATE_FIELDS)


def rule_silence(rule: AlertRule) -> None:
    """Close what a rule had open, without a notice, when its owner may no longer read its stream."""
    rule.events.filter(resolved__isnull=True).update(
        resolved=now_ms(), resolved_reason="its owner may no longer read the stream"
    )
    AlertRule.objects.filter(pk=rule.pk).update(
        state=AlertState.OK, pending_since=None, clearing_since=None, version=rule.version + 1
    )


def rules_move_on(rules: list[AlertRule], move: Move) -> list[Outgoing]:
    """Apply `move(rule, changes)` to each rule and commit what changed, re-reading lost claims."""
    outgoing: list[Outgoing] = []
    for rule in rules:
        for _ in range(CLAIM_TRIES):
            before, version = snapshot(rule), rule.version
            changes: list[Change] = []
            was_quiet = rule.state == AlertState.OK and rule.pending_since is None
            move(rule, changes)
            moved = bool(changes) or snapshot(rule) != before
            if not moved and was_quiet:
                break
            if not stream_can_read(rule.stream, rule.owner):
                # Its owner lost the stream: the rule says nothing more of its values, and
                # closes what it had open as stored (the move may have cleared it in memory).
                if not was_quiet:
                    rule_silence(rule)
                break
            if not moved:
                break
            recorded = rule_commit(rule, version, changes)
            if recorded is not None:
                outgoing.extend(recorded)
                break
            rule.refresh_from_db()
    return outgoing


def enabled_rules(**filters: object) -> list[AlertRule]:
    return list(
        AlertRule.objects.filter(enabled=True, **filters)
        .select_related("stream", "owner")
        .order_by("id")
    )


def rules_on(stream_ids: list[int]) -> bool:
    """Return whether any enabled rule watches one of the streams.

    Plain SQL: the producer asks after every write of every tick, most often of
    streams nobody set a rule on, and building the ORM's query for the rules
    (with their stream and owner) cost more than the write of the samples.
    """
    marks = ", ".join(["%s"] * len(stream_ids))
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT 1 FROM {AlertRule._meta.db_table}"
            f" WHERE enabled = %s AND stream_id IN ({marks}) LIMIT 1",
            [True, *stream_ids],
        )
        return cursor.fetchone() is not None


def alerts_evaluate(batches: dict[int, list[SampleFrame]]) -> list[Outgoing]:
    """Move every enabled rule on the batches' streams on; return the alerts for owners' pages."""
    if not batches or not rules_on(list(batches)):
        return []

    def move(rule: AlertRule, changes: list[Change]) -> None:
        for sample in batches[rule.stream_id]:
            rule_on_sample(rule, sample, changes)

    return rules_move_on(enabled_rules(stream_id__in=list(batches)), move)


def latest_sample_time(stream_id: int) -> int | None:
    return (
        Sample.objects.filter(stream_id=stream_id)
        .order_by("-seq")
        .values_list("t", flat=True)
        .first()
    )


def alerts_tick(now: int) -> list[Outgoing]:
    """Move every enabled rule on by the clock (called each second by the producer)."""
    rules = enabled_rules()
    latest: dict[int, int | None] = {}
    for rule in rules:
        if rule.no_data_seconds and rule.stream_id not in latest:
            latest[rule.stream_id] = latest_sample_time(rule.stream_id)

    def move(rule: AlertRule, changes: list[Change]) -> None:
        rule_on_clock(
            rule,
            changes,
            now=now,
            running=rule.stream.running,
            latest_t=latest.get(rule.stream_id),
        )

    return rules_move_on(rules, move)
