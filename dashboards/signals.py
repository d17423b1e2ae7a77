"""Every new user gets a starter dashboard; every change of what a dashboard grants
reaches the sockets it concerns, whether made on a page, in the admin or by a cascade.

Who may lose a stream when a share, link, widget or dashboard changes is always
someone watching it, so the stream's watchers are told to check again; a removed
share tells its user, a revoked or replaced link the sockets it opened. Each
message also bumps its group's access version (streams/access_versions.py), so a
process that missed it re-checks those sockets at its next sweep.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.db.models.signals import post_delete, post_save, pre_save
from django.dispatch import receiver

from dashboards.models import Dashboard, DashboardShare, Widget, WidgetSeries
from dashboards.starter import dashboard_starter
from streams.access_versions import access_announce
from streams.messages import (
    access_changed_message,
    access_revoked_message,
    link_group,
    stream_group,
    user_group,
)
from streams.models import Stream


@receiver(post_save, sender=settings.AUTH_USER_MODEL)
def give_new_user_a_dashboard(
    sender: Any, instance: Any, created: bool, raw: bool = False, **kwargs: Any
) -> None:
    if created and not raw:
        dashboard_starter(owner=instance)


def watchers_check_again(stream_ids: Iterable[int]) -> None:
    """Make every socket watching these streams check its rights to them again."""
    slugs = Stream.objects.filter(pk__in=set(stream_ids)).values_list("slug", flat=True)
    access_announce([(stream_group(slug), access_changed_message()) for slug in slugs])


@receiver(post_delete, sender=DashboardShare)
def share_removed(sender: Any, instance: DashboardShare, **kwargs: Any) -> None:
    access_announce([(user_group(instance.user_id), access_changed_message())])


@receiver(pre_save, sender=Dashboard)
def link_replaced_or_revoked(
    sender: Any, instance: Dashboard, raw: bool = False, **kwargs: Any
) -> None:
    if raw or instance.pk is None:
        return
    old = sender.objects.filter(pk=instance.pk).values_list("link_token", flat=True).first()
    if old and old != instance.link_token:
        access_announce([(link_group(instance.pk), access_revoked_message())])


@receiver(post_delete, sender=Dashboard)
def dashboard_deleted(sender: Any, instance: Dashboard, **kwargs: Any) -> None:
    # Its shares and widgets go in the same cascade and tell their own watchers.
    if instance.link_token:
        access_announce([(link_group(instance.pk), access_revoked_message())])


@receiver(pre_save, sender=Widget)
def widget_repointed(sender: Any, instance: Widget, raw: bool = False, **kwargs: Any) -> None:
    if raw or instance.pk is None:
        return
    old = sender.objects.filter(pk=instance.pk).values_list("stream_id", flat=True).first()
    if old is not None and old != instance.stream_id:
        watchers_check_again([old])


@receiver(post_delete, sender=Widget)
def widget_deleted(sender: Any, instance: Widget, **kwargs: Any) -> None:
    watchers_check_again([instance.stream_id])


@receiver(pre_save, sender=WidgetSeries)
def series_repointed(sender: Any, instance: WidgetSeries, raw: bool = False, **kwargs: Any) -> None:
    if raw or instance.pk is None:
        return
    old = sender.objects.filter(pk=instance.pk).values_list("stream_id", flat=True).first()
    if old is not None and old != instance.stream_id:
        watchers_check_again([old])


@receiver(post_delete, sender=WidgetSeries)
def series_removed(sender: Any, instance: WidgetSeries, **kwargs: Any) -> None:
    watchers_check_again([instance.stream_id])


@receiver(pre_save, sender=settings.AUTH_USER_MODEL)
def owner_lost_rights(sender: Any, instance: Any, raw: bool = False, **kwargs: Any) -> None:
    """A demoted or deactivated owner's dashboards no longer grant what staff could read."""
    if raw or instance.pk is None:
        return
    old = sender.objects.filter(pk=instance.pk).values("is_active", "is_staff").first()
    if old is None:
        return
    if (old["is_staff"] and not instance.is_staff) or (old["is_active"] and not instance.is_active):
        shown = Widget.objects.filter(dashboard__owner_id=instance.pk).values_list(
            "stream_id", flat=True
        )
        overlaid = WidgetSeries.objects.filter(widget__dashboard__owner_id=instance.pk).values_list(
            "stream_id", flat=True
        )
        watchers_check_again([*shown, *overlaid])
