"""Tell open sockets when a credential or a stream's access changes under them.

Logout closes that session's sockets; a new password, a deactivated or deleted
user closes all of the user's; a deleted API token closes the sockets it opened;
losing staff, or a stream turning private or changing hands, makes every socket
concerned check its subscriptions again at once. The same changes bring derived
streams (replays) back within the read rule: stopped when their owner no longer
reads what they read, made private when that is no longer public. Each message
also bumps its group's access version (streams/access_versions.py), so a web
process that missed it re-checks those sockets at its next sweep.
"""

from __future__ import annotations

from typing import Any

from asgiref.sync import async_to_sync
from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_out
from django.db import transaction
from django.db.models.signals import post_delete, post_save, pre_save
from django.dispatch import receiver

from streams.access import derived_streams_rein
from streams.access_versions import access_announce
from streams.messages import (
    access_changed_message,
    session_ended_message,
    stream_group,
    token_revoked_message,
    user_group,
)
from streams.models import ApiToken, Stream
from streams.publishing import send_all

User = get_user_model()


def sessions_end(user_id: int, session_key: str | None) -> None:
    """Close the user's sockets of one session (None: of every session)."""
    access_announce([(user_group(user_id), session_ended_message(session_key))])


@receiver(user_logged_out)
def close_sockets_on_logout(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    if user is not None:
        sessions_end(user.pk, request.session.session_key)


@receiver(pre_save, sender=User)
def user_changes_reach_sockets(
    sender: Any, instance: Any, raw: bool = False, **kwargs: Any
) -> None:
    if raw or instance.pk is None:
        return
    old = sender.objects.filter(pk=instance.pk).values("password", "is_active", "is_staff").first()
    if old is None:
        return
    if old["password"] != instance.password or (old["is_active"] and not instance.is_active):
        sessions_end(instance.pk, None)
    elif old["is_staff"] and not instance.is_staff:
        access_announce([(user_group(instance.pk), access_changed_message())])


@receiver(post_delete, sender=User)
def close_sockets_of_deleted_user(sender: Any, instance: Any, **kwargs: Any) -> None:
    sessions_end(instance.pk, None)


@receiver(post_delete, sender=ApiToken)
def close_sockets_of_deleted_token(sender: Any, instance: ApiToken, **kwargs: Any) -> None:
    access_announce([(user_group(instance.user_id), token_revoked_message(instance.pk))])


@receiver(pre_save, sender=Stream)
def stream_access_changes_reach_watchers(
    sender: Any, instance: Stream, raw: bool = False, **kwargs: Any
) -> None:
    if raw or instance.pk is None:
        return
    old = sender.objects.filter(pk=instance.pk).values("is_public", "owner_id", "slug").first()
    if old is None:
        return
    narrowed = old["is_public"] and not instance.is_public
    if narrowed or old["owner_id"] != instance.owner_id or old["slug"] != instance.slug:
        access_announce([(stream_group(old["slug"]), access_changed_message())])


@receiver(post_delete, sender=Stream)
def stream_deletion_reaches_watchers(sender: Any, instance: Stream, **kwargs: Any) -> None:
    access_announce([(stream_group(instance.slug), access_changed_message())])


def derived_streams_rein_after_commit(owner_id: int | None = None) -> None:
    """Once the change commits, stop or hide the derived streams it put out of reach."""

    def rein() -> None:
        news = derived_streams_rein(owner_id=owner_id)
        if news:
            async_to_sync(send_all)(news)

    # A failure here must not fail the change itself: the producers' reconcile is the net.
    transaction.on_commit(rein, robust=True)


@receiver(post_save, sender=Stream)
@receiver(post_delete, sender=Stream)
def stream_changes_rein_derived_streams(
    sender: Any, instance: Stream, raw: bool = False, **kwargs: Any
) -> None:
    if not raw:
        derived_streams_rein_after_commit()


@receiver(post_save, sender=User)
def user_changes_rein_derived_streams(
    sender: Any, instance: Any, raw: bool = False, update_fields: Any = None, **kwargs: Any
) -> None:
    # A login saves last_login alone: only a change that may take staff or
    # activity away is worth the look.
    if raw or (update_fields is not None and not {"is_staff", "is_active"} & set(update_fields)):
        return
    derived_streams_rein_after_commit(instance.pk)
