from __future__ import annotations

from django import forms
from django.contrib import admin

from dashboards.kinds import kind_choices
from dashboards.models import (
    AlertEvent,
    AlertRule,
    ContactPoint,
    Dashboard,
    DashboardShare,
    Delivery,
    Widget,
    WidgetSeries,
)


class WidgetAdminForm(forms.ModelForm):
    """A widget in the admin: its kind picked from the table of kinds."""

    kind = forms.ChoiceField(choices=kind_choices)

    class Meta:
        model = Widget
        fields = ["kind", "title", "stream", "config", "x", "y", "w", "h"]


class WidgetInline(admin.TabularInline):
    model = Widget
    form = WidgetAdminForm
    extra = 0
    fields = ["kind", "title", "stream", "config", "x", "y", "w", "h"]
    autocomplete_fields = ["stream"]


class ShareInline(admin.TabularInline):
    model = DashboardShare
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Dashboard)
class DashboardAdmin(admin.ModelAdmin):
    list_display = ["title", "owner", "position", "has_link", "updated"]
    list_filter = ["owner"]
    search_fields = ["title", "owner__username"]
    inlines = [WidgetInline, ShareInline]

    @admin.display(boolean=True, description="secret link")
    def has_link(self, dashboard: Dashboard) -> bool:
        return dashboard.link_token is not None


@admin.register(WidgetSeries)
class WidgetSeriesAdmin(admin.ModelAdmin):
    list_display = ["widget", "stream", "field", "axis", "position"]
    list_filter = ["stream"]
    autocomplete_fields = ["stream"]
    raw_id_fields = ["widget"]


@admin.register(DashboardShare)
class DashboardShareAdmin(admin.ModelAdmin):
    list_display = ["dashboard", "user", "created"]
    autocomplete_fields = ["user", "dashboard"]


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
    readonly_fields = ["state", "state_since", "pending_since", "clearing_since", "last_notified"]


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
