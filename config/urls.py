from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

from streams import api, api_history, views

urlpatterns = [
    path("", include("dashboards.urls")),
    path("streams/", views.overview, name="overview"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("admin/", admin.site.urls),
    path("api/streams/", api.streams_list, name="api-streams"),
    path("api/streams/<str:slug>/samples", api.samples_ingest, name="api-samples"),
    path("api/streams/<str:slug>/history", api_history.stream_history, name="api-history"),
    path(
        "api/streams/<str:slug>/export.<str:extension>",
        api_history.stream_export,
        name="api-export",
    ),
    path("api/stats", api.stats, name="api-stats"),
    path("healthz", api.healthz, name="healthz"),
    path("metrics", api.metrics, name="metrics"),
]
