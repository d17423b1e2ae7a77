"""GET /healthz (database and channel layer reachable) and GET /metrics."""

from __future__ import annotations

import asyncio
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.http import require_GET

from streams.contract import health_check_message
from streams.metrics import metrics_render


async def channel_layer_roundtrip(wait_seconds: float) -> None:
    """Send a message to ourselves through the channel layer and wait for it."""
    layer: Any = get_channel_layer()
    channel = await layer.new_channel()
    await layer.send(channel, health_check_message())
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
