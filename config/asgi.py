"""The ASGI entry point: `manage.py serve`, `manage.py runserver`, `daphne config.asgi:application`."""

from __future__ import annotations

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
# Django must be set up before anything imports models.
django_application = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler  # noqa: E402

from streams.auth import (  # noqa: E402
    SessionAuthMiddleware,
    TokenAuthMiddleware,
    origin_validator,
)
from streams.live.routing import websocket_urlpatterns  # noqa: E402
from streams.producer.embedded import EmbeddedProducer  # noqa: E402

application = EmbeddedProducer(
    ProtocolTypeRouter(
        {
            "http": ASGIStaticFilesHandler(django_application),
            "websocket": origin_validator(
                SessionAuthMiddleware(TokenAuthMiddleware(URLRouter(websocket_urlpatterns)))
            ),
        }
    )
)
