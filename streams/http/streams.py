"""GET /api/streams/: the streams the caller may read."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET

from streams.access import streams_readable_by
from streams.describe import stream_summary
from streams.http.common import login_required_json


@require_GET
@login_required_json
def streams_list(request: HttpRequest) -> JsonResponse:
    streams = streams_readable_by(request.user).select_related("owner")
    return JsonResponse({"streams": [stream_summary(stream) for stream in streams]})
