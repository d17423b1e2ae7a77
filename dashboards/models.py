"""Dashboards of widgets, how they are shared, alert rules with their events, and where alerts go."""

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


class AlertCondition(models.TextChoices):
    ABOVE = "above", "above the threshold"
    BELOW = "below", "below the threshold"
    ANOMALY = "anomaly", "flagged as an anomaly"
    NODATA = "nodata", "no data (no sample for the set seconds)"


class AlertState(models.TextChoices):
    OK = "ok", "OK"
    PENDING = "pending", "Pending"
    FIRING = "firing", "Firing"
    NODATA = "nodata", "No data"


class StopChoice(models.TextChoices):
    NODATA = "nodata", "mark it “no data”"
    RESOLVE = "resolve", "resolve it and stay quiet"


class ContactKind(models.TextChoices):
    WEBHOOK = "webhook", "Webhook"
    EMAIL = "email", "Email"
    BROWSER = "browser", "Browser notification"


class ContactPoint(models.Model):
    """Where a user's alerts go besides the page: a webhook, an address, this browser."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="contact_points"
    )
    name = models.CharField(max_length=120)
    kind = models.CharField(max_length=10, choices=ContactKind.choices)
    url = models.URLField(max_length=500, blank=True, help_text="webhook: where to POST")
    email = models.EmailField(blank=True, help_text="email: the address")
    secret = models.CharField(
        max_length=64, editable=False, help_text="webhook: the HMAC-SHA256 signing key"
    )
    enabled = models.BooleanField(default=True)
    created = models.DateTimeField(auto_now_add=True)
    # An address gets alert mail only once someone who reads it opened the link sent
    # there; a changed address is unconfirmed until its own link is opened.
    confirmed_email = models.EmailField(
        blank=True, help_text="email: the address whose confirmation link was opened"
    )
    confirm_sent = models.BigIntegerField(
        null=True, blank=True, help_text="email: UTC ms the last confirmation link was queued"
    )

    class Meta:
        ordering = ["owner", "name", "id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.kind})"

    @staticmethod
    def new_secret() -> str:
        return secrets.token_hex(32)

    @property
    def target(self) -> str:
        return {"webhook": self.url, "email": self.email}.get(self.kind, "open pages")

    @property
    def confirmed(self) -> bool:
        """Return whether notices may go to it (always, but for an unconfirmed address)."""
        return self.kind != ContactKind.EMAIL or (
            bool(self.email) and self.email == self.confirmed_email
        )


class ManualSend(models.Model):
    """A test or a confirmation link a user asked for: counted per user and hour."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="manual_sends"
    )
    # Kept when the contact point is deleted: deleting one must not give the allowance back.
    contact = models.ForeignKey(ContactPoint, on_delete=models.SET_NULL, null=True, blank=True)
    kind = models.CharField(max_length=10, help_text="test or confirm")
    created = models.BigIntegerField(help_text="UTC ms")

    class Meta:
        indexes = [models.Index(fields=["owner", "created"], name="manual_send_recent")]

    def __str__(self) -> str:
        return f"{self.kind} by {self.owner_id} at {self.created}"


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
        default=0, help_text="how long the condition must hold, and then clear"
    )
    no_data_seconds = models.PositiveIntegerField(
        default=0, help_text="silence after which the rule is “no data” (0: never)"
    )
    on_stop = models.CharField(
        max_length=10,
        choices=StopChoice.choices,
        default=StopChoice.NODATA,
        help_text="what a stop of the stream does to the rule",
    )
    min_interval_seconds = models.PositiveIntegerField(
        default=300, help_text="at most one firing notice per this many seconds"
    )
    contacts = models.ManyToManyField(ContactPoint, blank=True, related_name="rules")
    enabled = models.BooleanField(default=True)
    # Evaluation state, kept here so any process that sees the data or the clock
    # can go on; `version` makes each change a claim no other process can repeat.
    state = models.CharField(
        max_length=10, choices=AlertState.choices, default=AlertState.OK, editable=False
    )
    state_since = models.BigIntegerField(null=True, blank=True, editable=False)
    pending_since = models.BigIntegerField(null=True, blank=True, editable=False)
    clearing_since = models.BigIntegerField(null=True, blank=True, editable=False)
    last_value = models.FloatField(null=True, blank=True, editable=False)
    last_notified = models.BigIntegerField(null=True, blank=True, editable=False)
    stream_stopped = models.BooleanField(default=False, editable=False)
    version = models.PositiveIntegerField(default=0, editable=False)

    class Meta:
        ordering = ["owner", "name"]

    def __str__(self) -> str:
        return self.name

    @property
    def firing(self) -> bool:
        return self.state == AlertState.FIRING


class EventKind(models.TextChoices):
    FIRING = "firing", "Firing"
    NODATA = "nodata", "No data"


class AlertEvent(models.Model):
    rule = models.ForeignKey(AlertRule, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=10, choices=EventKind.choices, default=EventKind.FIRING)
    started = models.BigIntegerField(help_text="UTC ms of the sample or moment that opened it")
    resolved = models.BigIntegerField(
        null=True, blank=True, help_text="UTC ms of the sample or moment that closed it"
    )
    value = models.FloatField(null=True, blank=True)
    message = models.CharField(max_length=300)
    reason = models.CharField(max_length=300, blank=True, help_text="why it opened")
    resolved_reason = models.CharField(max_length=300, blank=True, help_text="why it closed")
    notified = models.BooleanField(
        default=True, help_text="false when held back by the rule's notice interval"
    )

    class Meta:
        ordering = ["-started"]

    def __str__(self) -> str:
        return self.message


class DeliveryStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"
    HELD = "held", "Held back"


class Delivery(models.Model):
    """One notice to one contact point: the outbox row and its log line."""

    contact = models.ForeignKey(ContactPoint, on_delete=models.CASCADE, related_name="deliveries")
    rule = models.ForeignKey(
        AlertRule, on_delete=models.SET_NULL, null=True, blank=True, related_name="deliveries"
    )
    event = models.ForeignKey(
        AlertEvent, on_delete=models.SET_NULL, null=True, blank=True, related_name="deliveries"
    )
    state = models.CharField(max_length=10, help_text="firing, resolved, no data or test")
    reason = models.CharField(max_length=300)
    payload = models.JSONField(default=dict)
    status = models.CharField(
        max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.QUEUED
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt = models.BigIntegerField(help_text="UTC ms")
    claimed_until = models.BigIntegerField(null=True, blank=True)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    created = models.BigIntegerField(help_text="UTC ms")
    finished = models.BigIntegerField(null=True, blank=True, help_text="UTC ms")

    class Meta:
        ordering = ["-id"]
        verbose_name_plural = "deliveries"
        constraints = [
            models.UniqueConstraint(
                fields=["event", "state", "contact"],
                condition=models.Q(event__isnull=False),
                name="delivery_once_per_transition",
            )
        ]
        indexes = [models.Index(fields=["status", "next_attempt"], name="delivery_due")]

    def __str__(self) -> str:
        return f"{self.state} to {self.contact} ({self.status})"
