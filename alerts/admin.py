from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from alerts import services
from alerts.forms import AlertRuleAdminForm
from alerts.models import RULE_SETTINGS, AlertEvent, AlertRule, ContactPoint, Delivery

# What evaluation keeps on the row, shown for staff to see, never edited.
READ_ONLY = ["state", "state_since", "pending_since", "clearing_since", "last_notified"]


@admin.register(AlertRule)
class AlertRuleAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "owner",
        "stream",
        "field",
        "condition",
        "threshold",
        "duration_seconds",
        "enabled",
        "state",
    ]
    list_filter = ["condition", "enabled", "state"]
    search_fields = ["name", "owner__username", "stream__slug"]
    autocomplete_fields = ["stream"]
    filter_horizontal = ["contacts"]
    # The page's settings with the page's checks; the evaluation state is read-only.
    form = AlertRuleAdminForm
    fields = ["owner", *RULE_SETTINGS, "contacts", *READ_ONLY]
    readonly_fields = READ_ONLY

    def save_model(self, request: HttpRequest, obj: AlertRule, form: Any, change: bool) -> None:
        # As on the page: a rule changed while open is resolved, and its receivers hear it.
        services.alert_rule_save(rule=obj)


@admin.register(AlertEvent)
class AlertEventAdmin(admin.ModelAdmin):
    list_display = ["message", "kind", "rule", "started", "resolved", "value", "notified"]
    list_filter = ["kind", "rule__owner"]
    list_select_related = ["rule"]

    def has_add_permission(self, request: object) -> bool:
        return False


@admin.register(ContactPoint)
class ContactPointAdmin(admin.ModelAdmin):
    list_display = ["name", "owner", "kind", "target", "enabled", "confirmed"]
    list_filter = ["kind", "enabled"]
    search_fields = ["name", "owner__username", "url", "email"]
    # Clearing `confirmed_email` asks the address's reader again (a new link is sent on
    # the owner's next save of a new address, or by "Resend link").
    readonly_fields = ["confirm_sent"]

    @admin.display(boolean=True, description="confirmed")
    def confirmed(self, contact: ContactPoint) -> bool:
        return contact.confirmed


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = ["id", "contact", "state", "status", "attempts", "response_status", "reason"]
    list_filter = ["status", "state"]
    list_select_related = ["contact"]
    readonly_fields = [field.name for field in Delivery._meta.fields]

    def has_add_permission(self, request: object) -> bool:
        return False
