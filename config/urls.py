from __future__ import annotations

from django.conf import settings
from django.contrib import admin
from django.contrib.auth import urls as auth_urls
from django.urls import include, path

# Without a mail server a reset link could never arrive: those pages do not exist.
PASSWORD_RESET_PAGES = {
    "password_reset",
    "password_reset_done",
    "password_reset_confirm",
    "password_reset_complete",
}
account_urls = [
    pattern
    for pattern in auth_urls.urlpatterns
    if settings.PASSWORD_RESET_ENABLED or pattern.name not in PASSWORD_RESET_PAGES
]

urlpatterns = [
    path("", include("dashboards.urls")),
    path("alerts/", include("alerts.urls")),
    path("devices/", include("devices.urls")),
    path("", include("streams.http.urls")),
    path("accounts/", include(account_urls)),
    path("admin/", admin.site.urls),
]
