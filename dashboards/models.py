"""Dashboards of widgets, their further series, and how they are shared."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models

from dashboards.kinds import KINDS
from streams.models import Stream


class Dashboard(models.Model):
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="dashboards"
    )
    title = models.CharField(max_length=120)
    position = models.PositiveIntegerField(default=0, help_text="order in the owner's list")
    link_token = models.CharField(
        max_length=64,
        unique=True,
        null=True,
        blank=True,
        help_text="secret of the read-only link; empty when none",
    )
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["owner", "position", "id"]

    def __str__(self) -> str:
        return self.title

    @staticmethod
    def new_link_token() -> str:
        return secrets.token_urlsafe(24)


class Widget(models.Model):
    """One tile: its kind, what it shows (`config`) and where it sits on the grid."""

    dashboard = models.ForeignKey(Dashboard, on_delete=models.CASCADE, related_name="widgets")
    # A row of dashboards.kinds.KINDS: forms and services check it against the table,
    # so a new kind needs no migration.
    kind = models.CharField(max_length=20)
    title = models.CharField(max_length=120, blank=True)
    stream = models.ForeignKey(Stream, on_delete=models.CASCADE, related_name="widgets")
    config = models.JSONField(default=dict, blank=True)
    x = models.PositiveSmallIntegerField(default=0)
    y = models.PositiveSmallIntegerField(default=0)
    w = models.PositiveSmallIntegerField(default=4)
    h = models.PositiveSmallIntegerField(default=3)

    class Meta:
        ordering = ["dashboard", "y", "x", "id"]

    def __str__(self) -> str:
        return self.title or f"{self.kind_label} of {self.stream_id}"

    @property
    def kind_label(self) -> str:
        """Return the kind's label from the table (the stored name, for a kind since removed)."""
        spec = KINDS.get(self.kind)
        return spec.label if spec is not None else self.kind


class WidgetSeries(models.Model):
    """A further series of a widget: one field of any stream, beside its own stream's fields.

    `Widget.stream` and `config["fields"]` are the widget's first series; these
    rows add more, from the same or other streams (lab 1 and lab 2 on one chart).
    Each is granted, shown and checked by the same rule as `Widget.stream`.
    """

    widget = models.ForeignKey(Widget, on_delete=models.CASCADE, related_name="series")
    stream = models.ForeignKey(Stream, on_delete=models.CASCADE, related_name="widget_series")
    field = models.CharField(max_length=80)
    color = models.CharField(max_length=7, blank=True, help_text="#rrggbb; empty: the theme's")
    axis = models.CharField(max_length=5, default="left", help_text="left or right")
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["widget", "position", "id"]
        verbose_name_plural = "widget series"

    def __str__(self) -> str:
        return f"{self.stream.slug} · {self.field}"


class DashboardShare(models.Model):
    """Read-only access to a dashboard for one named user."""

    dashboard = models.ForeignKey(Dashboard, on_delete=models.CASCADE, related_name="shares")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="shared_dashboards"
    )
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["dashboard", "user"], name="share_once_per_user")
        ]

    def __str__(self) -> str:
        return f"{self.dashboard} → {self.user}"
