"""The API's URLs (mounted at the site root by config/urls.py)."""

from __future__ import annotations

from django.urls import path

from streams.auth import csrf_unless_token
from streams.http import (
    docs,
    export,
    health,
    history,
    influx,
    pages,
    raw,
    stats,
    streams,
    tokens,
)

urlpatterns = [
    path("streams/", pages.overview, name="overview"),
    path("streams/new/", pages.stream_new, name="stream-new"),
    path("streams/<str:slug>/", pages.stream_page, name="stream-page"),
    path("account/tokens/", tokens.tokens_page, name="tokens"),
    path("account/tokens/<int:token_id>/revoke/", tokens.token_revoke, name="token-revoke"),
    # Scripts POST here with an API token: no CSRF token for them.
    path("api/streams/", csrf_unless_token(streams.streams_list), name="api-streams"),
    path("api/streams/<str:slug>/samples", csrf_unless_token(raw.samples), name="api-samples"),
    path("api/streams/<str:slug>/history", history.stream_history, name="api-history"),
    path(
        "api/streams/<str:slug>/export.<str:extension>",
        export.stream_export,
        name="api-export",
    ),
    # Telegraf and the influxdb-client libraries write line protocol here.
    path("api/v2/write", csrf_unless_token(influx.influx_write), name="api-influx-write"),
    path("api/stats", stats.stats, name="api-stats"),
    path("healthz", health.healthz, name="healthz"),
    path("metrics", health.metrics, name="metrics"),
    path("api/schema.json", docs.openapi_schema, name="api-schema"),
    path("api/asyncapi.json", docs.asyncapi_schema, name="api-asyncapi"),
    path("api/docs/", docs.api_docs, name="api-docs"),
]
