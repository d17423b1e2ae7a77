"""Alert rules with their state and events, contact points, and the outbox of notices."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models

from streams.models import Stream


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


# What a user sets on a rule, in the model's order: its editable fields but the owner
# (the evaluation state is not editable) and the contact points (a relation, set apart).
# The form, the admin and the services read this; defaults and limits are the fields'.
RULE_SETTINGS: tuple[str, ...] = tuple(
    field.name
    for field in AlertRule._meta.concrete_fields
    if field.editable and not field.primary_key and field.name != "owner"
)
