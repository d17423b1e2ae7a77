"""HTTP endpoints: stream list, ingest, stats, health and metrics."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from functools import wraps
from typing import Any

import orjson
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import connection
from django.db.models import Count, Max
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.http import require_GET, require_POST

from streams.ingest import IngestError, ingest_samples
from streams.metrics import metrics_render
from streams.models import Sample, Stream
from streams.presence import presence
from streams.selectors import stream_by_slug, stream_can_read, streams_readable_by

RATE_WINDOW_MS = 10_000


def api_error(code: str, message: str, status: int) -> JsonResponse:
    return JsonResponse({"error": {"code": code, "message": message}}, status=status)


def login_required_json(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Answer 401 in JSON, not a redirect to the login page, when nobody is logged in."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return api_error(
                "unauthenticated", "Log in, or send `Authorization: Token <token>`.", 401
            )
        return view(request, *args, **kwargs)

    return wrapper


def stream_summary(stream: Stream) -> dict[str, Any]:
    return {
        "slug": stream.slug,
        "title": stream.title,
        "fields": stream.fields,
        "source_kind": stream.source_kind,
        "running": stream.running,
        "public": stream.is_public,
        "owner": stream.owner.get_username() if stream.owner else None,
        "retention_seconds": stream.retention_seconds,
    }


@require_GET
@login_required_json
def streams_list(request: HttpRequest) -> JsonResponse:
    streams = streams_readable_by(request.user).select_related("owner")
    return JsonResponse({"streams": [stream_summary(stream) for stream in streams]})


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
        return api_error(error.code, error.message, error.status)
    return JsonResponse(
        {
            "stream": slug,
            "stored": len(stored),
            "first": stored[0]["seq"],
            "last": stored[-1]["seq"],
        },
        status=201,
    )


@require_GET
def stats(request: HttpRequest) -> JsonResponse:
    """Return live counts, and per stream its rate over the last ten seconds."""
    streams = (
        streams_readable_by(request.user)
        if request.user.is_authenticated
        else Stream.objects.filter(is_public=True)
    )
    since = int(time.time() * 1000) - RATE_WINDOW_MS
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
            "server_time": int(time.time() * 1000),
            "connections": len(presence.connections),
            "subscriptions": presence.subscription_count(),
            "streams": rows,
        }
    )


async def channel_layer_roundtrip(wait_seconds: float) -> None:
    """Send a message to ourselves through the channel layer and wait for it."""
    layer: Any = get_channel_layer()
    channel = await layer.new_channel()
    await layer.send(channel, {"type": "health.check"})
    await asyncio.wait_for(layer.receive(channel), wait_seconds)


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    checks = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = "ok"
    except Exception as error:
        checks["database"] = f"error: {error.__class__.__name__}"
    try:
        async_to_sync(channel_layer_roundtrip)(2.0)
        checks["channel_layer"] = "ok"
    except Exception as error:
        checks["channel_layer"] = f"error: {error.__class__.__name__}"
    healthy = all(value == "ok" for value in checks.values())
    return JsonResponse(
        {"status": "ok" if healthy else "unhealthy", **checks}, status=200 if healthy else 503
    )


@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    return HttpResponse(metrics_render(), content_type="text/plain; version=0.0.4; charset=utf-8")
