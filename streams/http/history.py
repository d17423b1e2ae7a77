"""GET /api/streams/<slug>/history: a range in a bounded number of buckets."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET

from streams.history.query import history_buckets
from streams.http.common import BadParameter, api_error, int_param, time_range
from streams.http.viewer import viewer_required_json, viewer_stream

DEFAULT_POINTS = 1_000
MAX_POINTS = 10_000


@require_GET
@viewer_required_json
def stream_history(request: HttpRequest, slug: str) -> JsonResponse:
    """Return [from, to) reduced to at most `points` buckets of min, max and mean per field."""
    stream = viewer_stream(request, slug)
    if stream is None:
        return api_error("unknown_stream", f"There is no stream {slug!r} you may see.", 404)
    try:
        start, end = time_range(request)
        points = int_param(request, "points", DEFAULT_POINTS, low=1, high=MAX_POINTS)
    except BadParameter as error:
        return api_error("invalid_field", str(error), 400)
    answer = history_buckets(stream.pk, start, end, points)
    return JsonResponse(
        {"stream": slug, "from": start, "to": end, "points": points, **answer.as_json()}
    )
