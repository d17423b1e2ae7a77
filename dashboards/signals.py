"""Every new user gets a starter dashboard."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db.models.signals import post_save
from django.dispatch import receiver

from dashboards.starter import dashboard_starter


@receiver(post_save, sender=settings.AUTH_USER_MODEL)
def give_new_user_a_dashboard(
    sender: Any, instance: Any, created: bool, raw: bool = False, **kwargs: Any
) -> None:
    if created and not raw:
        dashboard_starter(owner=instance)
