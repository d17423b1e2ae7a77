"""GET /healthz (database and channel layer reachable) and GET /metrics."""

from __future__ import annotations

import asyncio
import hmac
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.http import require_GET

from streams.http.common import api_error
from streams.live.census import census
from streams.messages import health_check_message
from streams.metrics import CONTENT_TYPE, metric_set, metrics_render

BEARER = "Bearer "


async def channel_layer_roundtrip(wait_seconds: float) -> None:
    """Send a message to ourselves through the channel layer and wait for it."""
    layer: Any = get_channel_layer()
    channel = await layer.new_channel()
    await layer.send(channel, health_check_message())
    await asyncio.wait_for(layer.receive(channel), wait_seconds)


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """Say whether each part answers: `ok` or `down`, and for a part down, why (`errors`)."""
    checks, errors = {}, {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = "ok"
    except Exception as error:
        checks["database"], errors["database"] = "down", error.__class__.__name__
    try:
        async_to_sync(channel_layer_roundtrip)(2.0)
        checks["channel_layer"] = "ok"
    except Exception as error:
        checks["channel_layer"], errors["channel_layer"] = "down", error.__class__.__name__
    body: dict[str, Any] = {"status": "ok" if not errors else "unhealthy", **checks}
    if errors:
        body["errors"] = errors
    return JsonResponse(body, status=503 if errors else 200)


def scrape_secret_sent(request: HttpRequest) -> bool:
    """Return whether the request carries `Authorization: Bearer <PULSEBOARD_METRICS_TOKEN>`."""
    secret = settings.PULSEBOARD_METRICS_TOKEN
    header = request.headers.get("Authorization", "")
    if not secret or not header.startswith(BEARER):
        return False
    return hmac.compare_digest(header[len(BEARER) :].strip().encode(), secret.encode())


@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    """Return this process's metrics to staff (session or token) or a scraper with the secret.

    Series name streams, and staff read every stream: nobody else may scrape.
    """
    if not scrape_secret_sent(request):
        if not request.user.is_authenticated:
            return api_error(
                "unauthenticated",
                "Send `Authorization: Bearer <PULSEBOARD_METRICS_TOKEN>`, or a staff token or session.",
                401,
            )
        if not request.user.is_staff:
            return api_error(
                "forbidden", "Only staff and the configured scraper may read metrics.", 403
            )
    # Presence is cluster-wide: every process reports the same totals beside its own.
    for name, value in census().totals().items():
        metric_set(f"pulseboard_cluster_{name}", value)
    return HttpResponse(metrics_render(), content_type=CONTENT_TYPE)
