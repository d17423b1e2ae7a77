"""POST /api/streams/<slug>/samples: scripts and devices push samples."""

from __future__ import annotations

import orjson
from asgiref.sync import async_to_sync
from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_POST

from streams.access import stream_by_slug, stream_can_read
from streams.http.common import api_error, login_required_json
from streams.producer.ingest import IngestError, ingest_samples


@require_POST
@login_required_json
def samples_ingest(request: HttpRequest, slug: str) -> JsonResponse:
    """Store and fan out the samples a script pushes: `{"samples": [{"t", "values"}, ...]}`."""
    stream = stream_by_slug(slug)
    if stream is None or not stream_can_read(stream, request.user):
        return api_error("unknown_stream", f"There is no stream {slug!r} you may see.", 404)
    try:
        body = orjson.loads(request.body)
    except orjson.JSONDecodeError as error:
        return api_error("invalid_json", f"The body is not valid JSON: {error}", 400)
    samples = body.get("samples") if isinstance(body, dict) else body
    try:
        stored = async_to_sync(ingest_samples)(stream=stream, user=request.user, samples=samples)
    except IngestError as error:
        response = api_error(error.code, error.message, error.status)
        if error.retry_after is not None:
            response["Retry-After"] = str(error.retry_after)
        return response
    return JsonResponse(
        {
            "stream": slug,
            "stored": len(stored),
            "first": stored[0]["seq"],
            "last": stored[-1]["seq"],
        },
        status=201,
    )
