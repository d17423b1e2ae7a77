"""Close a user's live sockets when their session ends: logout, or a new password."""

from __future__ import annotations

from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_out
from django.db.models.signals import pre_save
from django.dispatch import receiver

from streams.contract import session_ended_message, user_group


def sessions_end(user_id: int, session_key: str | None) -> None:
    """Close the user's sockets of one session (None: of every session)."""
    layer: Any = get_channel_layer()
    async_to_sync(layer.group_send)(user_group(user_id), session_ended_message(session_key))


@receiver(user_logged_out)
def close_sockets_on_logout(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    if user is not None:
        sessions_end(user.pk, request.session.session_key)


@receiver(pre_save, sender=get_user_model())
def close_sockets_on_password_change(
    sender: Any, instance: Any, raw: bool = False, **kwargs: Any
) -> None:
    if raw or instance.pk is None:
        return
    old = sender.objects.filter(pk=instance.pk).values_list("password", "is_active").first()
    if old is not None and (old[0] != instance.password or (old[1] and not instance.is_active)):
        sessions_end(instance.pk, None)
