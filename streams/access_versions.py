"""Access events that leave a mark: each one also bumps the version of the group it is sent to.

An access event (`access.changed`, `access.revoked`, `session.ended`,
`token.revoked`) reaches the sockets concerned at once over the channel layer.
A message can be lost on the way — Redis restarting, a web process whose
subscription was being replaced — so each event also bumps the `AccessVersion`
row of its group (`user.<id>`, `link.<id>`, `stream.<slug>`). Every web process
reads the rows changed since its last look once an interval
(streams/live/access_sweep.py) and re-checks only the sockets in those groups.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from asgiref.sync import async_to_sync
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from streams.messages import Outgoing
from streams.models import AccessVersion
from streams.publishing import send_all

log = logging.getLogger(__name__)


def access_versions_bump(keys: Iterable[str]) -> None:
    """Bump the access version of each group in `keys`, stamped now."""
    wanted = set(keys)
    if not wanted:
        return
    now = timezone.now()
    with transaction.atomic():
        known = set(AccessVersion.objects.filter(key__in=wanted).values_list("key", flat=True))
        if known:
            AccessVersion.objects.filter(key__in=known).update(
                version=F("version") + 1, changed_at=now
            )
        # Two processes creating the same row: the other's, stamped the same moment, stands.
        AccessVersion.objects.bulk_create(
            [AccessVersion(key=key, changed_at=now) for key in wanted - known],
            ignore_conflicts=True,
        )


def access_announce(outgoing: list[Outgoing]) -> None:
    """Once the current transaction commits (at once outside one): bump the groups, then send.

    The bump comes after the commit so that whoever reads it re-checks against
    the change itself; a failed bump still lets the event go.
    """
    if not outgoing:
        return

    def announce() -> None:
        try:
            access_versions_bump(group for group, _ in outgoing)
        except Exception:
            log.exception("access versions of %s not bumped", [group for group, _ in outgoing])
        async_to_sync(send_all)(outgoing)

    transaction.on_commit(announce)
