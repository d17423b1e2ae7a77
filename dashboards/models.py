"""Dashboards of widgets, how they are shared, and alert rules with their events."""

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


# Stored in Widget.kind; the kinds, their labels and order come from the table.
WidgetKind = models.TextChoices(
    "WidgetKind", [(spec.kind.upper(), (spec.kind, spec.label)) for spec in KINDS.values()]
)


class Widget(models.Model):
    """One tile: its kind, what it shows (`config`) and where it sits on the grid."""

    dashboard = models.ForeignKey(Dashboard, on_delete=models.CASCADE, related_name="widgets")
    kind = models.CharField(max_length=20, choices=WidgetKind.choices)
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
        return self.title or f"{self.get_kind_display()} of {self.stream_id}"


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


class AlertCondition(models.TextChoices):
    ABOVE = "above", "above the threshold"
    BELOW = "below", "below the threshold"
    ANOMALY = "anomaly", "flagged as an anomaly"


class AlertRule(models.Model):
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="alert_rules"
    )
    name = models.CharField(max_length=120)
    stream = models.ForeignKey(Stream, on_delete=models.CASCADE, related_name="alert_rules")
    field = models.CharField(max_length=80)
    condition = models.CharField(max_length=10, choices=AlertCondition.choices)
    threshold = models.FloatField(null=True, blank=True)
    duration_seconds = models.PositiveIntegerField(
        default=0, help_text="how long the condition must hold"
    )
    enabled = models.BooleanField(default=True)
    # Evaluation state, kept here so any process that sees the data can go on.
    pending_since = models.BigIntegerField(null=True, blank=True, editable=False)
    firing = models.BooleanField(default=False, editable=False)

    class Meta:
        ordering = ["owner", "name"]

    def __str__(self) -> str:
        return self.name


class AlertEvent(models.Model):
    rule = models.ForeignKey(AlertRule, on_delete=models.CASCADE, related_name="events")
    started = models.BigIntegerField(help_text="UTC ms of the sample that made it fire")
    resolved = models.BigIntegerField(
        null=True, blank=True, help_text="UTC ms of the sample that cleared it"
    )
    value = models.FloatField(null=True, blank=True)
    message = models.CharField(max_length=300)

    class Meta:
        ordering = ["-started"]

    def __str__(self) -> str:
        return self.message
