from __future__ import annotations

from channels.security.websocket import WebsocketDenier
from django.urls import path, re_path

from streams.live.compat import DataConsumer
from streams.live.consumer import LiveConsumer

websocket_urlpatterns = [
    path("ws/live/", LiveConsumer.as_asgi()),
    path("ws/data/", DataConsumer.as_asgi()),
    re_path(r"", WebsocketDenier.as_asgi()),
]
