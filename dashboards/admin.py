from __future__ import annotations

from django import forms
from django.contrib import admin

from dashboards.kinds import kind_choices
from dashboards.models import Dashboard, DashboardShare, Widget, WidgetSeries


class WidgetAdminForm(forms.ModelForm):
    """A widget in the admin: its kind picked from the table of kinds."""

    kind = forms.ChoiceField(choices=kind_choices)

    class Meta:
        model = Widget
        fields = ["kind", "title", "stream", "config", "x", "y", "w", "h"]
        # A row of the inline fits the admin's page: a short config box, small numbers.
        widgets = {
            "title": forms.TextInput(attrs={"size": 18}),
            "config": forms.Textarea(attrs={"rows": 3, "cols": 34}),
            **{name: forms.NumberInput(attrs={"class": "vIntegerField"}) for name in "xywh"},
        }


class WidgetInline(admin.StackedInline):
    """The board's widgets, one block each: a table row of eight inputs was wider than the page."""

    model = Widget
    form = WidgetAdminForm
    extra = 0
    fields = [("kind", "title", "stream"), "config", ("x", "y", "w", "h")]
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
