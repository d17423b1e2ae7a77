"""Alert data stored while alerts lived in dashboards is found in the alerts app, and back again."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from alerts.models import AlertEvent, AlertRule, ContactPoint, Delivery, ManualSend
from streams.models import Stream
from tests.alerts.alert_helpers import T0, states, temperature

BEFORE = [("dashboards", "0005_widget_kind_from_table")]
MOVED = ["alertrule", "alertevent", "contactpoint", "delivery", "manualsend"]


def migrate(targets: list[tuple[str, str]] | None = None) -> Any:
    """Migrate to `targets` (None: the latest); return the apps of the state reached."""
    executor = MigrationExecutor(connection)
    targets = targets or executor.loader.graph.leaf_nodes()
    executor.migrate(targets)
    ContentType.objects.clear_cache()
    return MigrationExecutor(connection).loader.project_state(targets).apps


def tables() -> set[str]:
    with connection.cursor() as cursor:
        return set(connection.introspection.table_names(cursor))


def store_the_old_way(apps: Any, owner: Any, stream: Stream) -> dict[str, int]:
    """Write rules, contacts, events, deliveries, a manual send and a permission as dashboards had them."""
    model = {name: apps.get_model("dashboards", name) for name in MOVED}
    hook = model["contactpoint"].objects.create(
        owner_id=owner.pk, name="Hook", kind="webhook", url="http://127.0.0.1:9/h", secret="s"
    )
    mail = model["contactpoint"].objects.create(
        owner_id=owner.pk,
        name="Me",
        kind="email",
        email="a@example.com",
        confirmed_email="a@example.com",
    )
    rule = model["alertrule"].objects.create(
        owner_id=owner.pk,
        name="Too warm",
        stream_id=stream.pk,
        field="temperature",
        condition="above",
        threshold=30.0,
        min_interval_seconds=0,
        state="firing",
        version=7,
    )
    rule.contacts.set([hook, mail])
    event = model["alertevent"].objects.create(rule=rule, started=T0, value=35.0, message="hot")
    delivery = model["delivery"].objects.create(
        contact=hook,
        rule=rule,
        event=event,
        state="firing",
        reason="why",
        next_attempt=T0,
        created=T0,
    )
    model["manualsend"].objects.create(owner_id=owner.pk, contact=mail, kind="test", created=T0)
    # Content types and permissions are not moved tables: today's models read them.
    content_type = ContentType.objects.get_or_create(app_label="dashboards", model="alertrule")[0]
    permission = Permission.objects.get_or_create(
        content_type=content_type,
        codename="change_alertrule",
        defaults={"name": "Can change alert rule"},
    )[0]
    owner.user_permissions.add(permission)
    return {
        "rule": rule.pk,
        "hook": hook.pk,
        "event": event.pk,
        "delivery": delivery.pk,
        "ct": content_type.pk,
    }


@pytest.mark.django_db(transaction=True)
def test_alert_data_from_before_the_move_is_in_the_alerts_app(
    owner: Any, private_stream: Stream
) -> None:
    Stream.objects.filter(pk=private_stream.pk).update(running=True)
    try:
        old = store_the_old_way(migrate(BEFORE), owner, private_stream)
        assert {"dashboards_alertrule", "dashboards_alertrule_contacts"} <= tables()
        migrate()

        assert not {f"dashboards_{name}" for name in MOVED} & tables()
        assert {*(f"alerts_{name}" for name in MOVED), "alerts_alertrule_contacts"} <= tables()
        rule = AlertRule.objects.get(pk=old["rule"])
        assert (rule.name, rule.state, rule.version, rule.stream_id) == (
            "Too warm",
            "firing",
            7,
            private_stream.pk,
        )
        assert sorted(rule.contacts.values_list("name", flat=True)) == ["Hook", "Me"]
        assert list(rule.events.values_list("pk", "message")) == [(old["event"], "hot")]
        delivery = Delivery.objects.get(pk=old["delivery"])
        assert (delivery.contact_id, delivery.rule_id, delivery.event_id) == (
            old["hook"],
            old["rule"],
            old["event"],
        )
        assert ContactPoint.objects.get(name="Me").confirmed
        assert ManualSend.objects.get().contact == ContactPoint.objects.get(name="Me")
        # The same content type row, now the alerts app's, and the permission with it.
        assert ContentType.objects.get_for_model(AlertRule).pk == old["ct"]
        assert not ContentType.objects.filter(app_label="dashboards", model__in=MOVED).exists()
        assert get_user_model().objects.get(pk=owner.pk).has_perm("alerts.change_alertrule")
        # And the app goes on with them: the moved rule resolves, to both its contact points.
        assert states(temperature(private_stream, T0 + 1_000, 20)) == ["resolved"]
        assert AlertEvent.objects.get(pk=old["event"]).resolved == T0 + 1_000
        assert Delivery.objects.filter(state="resolved").count() == 2

        # Backwards to before the move: the rows are dashboards' again.
        apps = migrate(BEFORE)
        assert not {f"alerts_{name}" for name in MOVED} & tables()
        back = apps.get_model("dashboards", "AlertRule").objects.get(pk=old["rule"])
        assert sorted(back.contacts.values_list("name", flat=True)) == ["Hook", "Me"]
        assert apps.get_model("dashboards", "Delivery").objects.count() == 3
        assert ContentType.objects.get(pk=old["ct"]).app_label == "dashboards"
    finally:
        migrate()
