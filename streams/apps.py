from __future__ import annotations

from django.apps import AppConfig


class StreamsConfig(AppConfig):
    name = "streams"
    verbose_name = "Streams"

    def ready(self) -> None:
        from streams import signals  # noqa: F401
        from streams.history.stored import stored_listener_add
        from streams.live.census import census_note_stored

        # Each stream's last seq and rate for /api/stats, noted as batches are stored.
        stored_listener_add(census_note_stored)
