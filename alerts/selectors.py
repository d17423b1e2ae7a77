"""Reads of alerting: a user's rules, recent events, contact points and delivery log."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from alerts.models import AlertEvent, AlertRule, ContactPoint, Delivery

RECENT_EVENTS = 50
RECENT_DELIVERIES = 50


def alert_rules_of(user: Any) -> QuerySet[AlertRule]:
    return AlertRule.objects.filter(owner=user).select_related("stream").order_by("name", "id")


def alert_events_for(user: Any, limit: int = RECENT_EVENTS) -> QuerySet[AlertEvent]:
    return (
        AlertEvent.objects.filter(rule__owner=user)
        .select_related("rule", "rule__stream")
        .order_by("-started")[:limit]
    )


def contacts_of(user: Any) -> QuerySet[ContactPoint]:
    return ContactPoint.objects.filter(owner=user).order_by("name", "id")


def deliveries_of(user: Any, limit: int = RECENT_DELIVERIES) -> QuerySet[Delivery]:
    return (
        Delivery.objects.filter(contact__owner=user)
        .select_related("contact", "rule")
        .order_by("-id")[:limit]
    )
