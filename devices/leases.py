"""Broker leases: one bridge per broker across processes, as producers hold streams.

Taken with one conditional UPDATE (ours, or expired), renewed at every reconcile,
given back on a clean stop; a process that dies loses its brokers when the lease
runs out, and another process's bridge takes over the broker's MQTT session.
"""

from __future__ import annotations

from django.db.models import Q

from devices.models import BrokerLease


def broker_leases_claim(*, holder: str, broker_ids: list[int], now: int, ttl_ms: int) -> set[int]:
    """Take or renew the leases of `broker_ids` that are free or ours; return the ones we hold."""
    BrokerLease.objects.bulk_create(
        [BrokerLease(broker_id=broker_id) for broker_id in broker_ids], ignore_conflicts=True
    )
    BrokerLease.objects.filter(broker_id__in=broker_ids).filter(
        Q(holder=holder) | Q(expires_ms__lt=now)
    ).update(holder=holder, expires_ms=now + ttl_ms)
    return set(
        BrokerLease.objects.filter(broker_id__in=broker_ids, holder=holder).values_list(
            "broker_id", flat=True
        )
    )


def broker_leases_release(*, holder: str, broker_ids: list[int] | None = None) -> None:
    """Give up our broker leases (all of them when `broker_ids` is None)."""
    leases = BrokerLease.objects.filter(holder=holder)
    if broker_ids is not None:
        leases = leases.filter(broker_id__in=broker_ids)
    leases.update(holder="", expires_ms=0)
