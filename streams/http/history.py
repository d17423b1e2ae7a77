"""GET /api/streams/<slug>/history: a range in a bounded number of buckets."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET

from streams.history.query import history_buckets
from streams.http.common import api_error
from streams.http.params import TIME_RANGE, BadParameter, IntQuery, time_range
from streams.http.viewer import viewer_required_json, viewer_stream

DEFAULT_POINTS = 1_000
MAX_POINTS = 10_000
POINTS = IntQuery(
    "points",
    f"At most this many buckets per field (default {DEFAULT_POINTS}).",
    1,
    MAX_POINTS,
)
PARAMETERS = (*TIME_RANGE, POINTS)


@require_GET
@viewer_required_json
def stream_history(request: HttpRequest, slug: str) -> JsonResponse:
    """Return [from, to) reduced to at most `points` buckets of min, max and mean per field."""
    stream = viewer_stream(request, slug)
    if stream is None:
        return api_error("unknown_stream", f"There is no stream {slug!r} you may see.", 404)
    try:
        start, end = time_range(request)
        points = POINTS.parse(request, DEFAULT_POINTS)
    except BadParameter as error:
        return api_error("invalid_field", str(error), 400)
    answer = history_buckets(stream.pk, start, end, points)
    return JsonResponse(
        {"stream": slug, "from": start, "to": end, "points": points, **answer.as_json()}
    )
