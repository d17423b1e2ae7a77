"""GET /api/stats: live counts, and per readable stream its state and recent rate."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET

from streams.access import streams_readable_by
from streams.clock import now_ms
from streams.http.common import login_required_json
from streams.live.presence import presence
from streams.metrics import stream_activity


@require_GET
@login_required_json
def stats(request: HttpRequest) -> JsonResponse:
    """Return live counts, and per readable stream its rate over the last ten seconds.

    Rates and last seqs are what this process stored, kept in memory: the answer
    never reads history, whatever its size.
    """
    streams = list(streams_readable_by(request.user))
    activity = stream_activity(stream.pk for stream in streams)
    rows = [
        {
            "slug": stream.slug,
            "running": stream.running,
            "rate": activity[stream.pk][0],
            "last_seq": activity[stream.pk][1],
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
