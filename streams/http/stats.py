"""GET /api/stats: live counts, and per stream its state and recent rate."""

from __future__ import annotations

from django.db.models import Count, Max
from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET

from streams.access import streams_readable_by
from streams.clock import now_ms
from streams.live.presence import presence
from streams.models import Sample, Stream

RATE_WINDOW_MS = 10_000


@require_GET
def stats(request: HttpRequest) -> JsonResponse:
    """Return live counts, and per stream its rate over the last ten seconds."""
    streams = (
        streams_readable_by(request.user)
        if request.user.is_authenticated
        else Stream.objects.filter(is_public=True)
    )
    since = now_ms() - RATE_WINDOW_MS
    recent = dict(
        Sample.objects.filter(stream__in=streams, t__gte=since)
        .values("stream_id")
        .annotate(count=Count("id"))
        .values_list("stream_id", "count")
    )
    last_seq = dict(
        Sample.objects.filter(stream__in=streams)
        .values("stream_id")
        .annotate(last=Max("seq"))
        .values_list("stream_id", "last")
    )
    rows = [
        {
            "slug": stream.slug,
            "running": stream.running,
            "rate": round(recent.get(stream.pk, 0) * 1000 / RATE_WINDOW_MS, 2),
            "last_seq": last_seq.get(stream.pk, 0),
            "viewers": presence.viewers(stream.slug),
        }
        for stream in streams
    ]
    return JsonResponse(
        {
            "server_time": now_ms(),
            "connections": len(presence.connections),
            "subscriptions": presence.subscription_count(),
            "streams": rows,
        }
    )
