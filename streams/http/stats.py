"""GET /api/stats: live counts, and per readable stream its state and recent rate."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET

from streams.access import streams_readable_by
from streams.clock import now_ms
from streams.http.common import login_required_json
from streams.live.census import census


@require_GET
@login_required_json
def stats(request: HttpRequest) -> JsonResponse:
    """Return live counts, and per readable stream its rate over the last ten seconds.

    Every figure is the cluster's census (streams/live/census.py), kept in memory
    and Redis: the answer never reads history, whatever its size.
    """
    counts = census()
    streams = list(streams_readable_by(request.user))
    activity = counts.activity(stream.pk for stream in streams)
    viewers = counts.streams_counts(stream.slug for stream in streams)
    rows = [
        {
            "slug": stream.slug,
            "running": stream.running,
            "rate": activity[stream.pk][0],
            "last_seq": activity[stream.pk][1],
            "viewers": viewers[stream.slug],
        }
        for stream in streams
    ]
    return JsonResponse(
        {
            "server_time": now_ms(),
            **counts.totals(),
            "streams": rows,
        }
    )
