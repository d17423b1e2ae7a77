from __future__ import annotations

from django.apps import AppConfig


class StreamsConfig(AppConfig):
    name = "streams"
    verbose_name = "Streams"

    def ready(self) -> None:
        from django.db.backends.signals import connection_created

        from streams import signals  # noqa: F401
        from streams.history.compaction import compactor
        from streams.history.stored import stored_listener_add
        from streams.live.census import census_note_stored
        from streams.models import json_columns_as_text
        from streams.producer.timers import timer_listener_add

        connection_created.connect(json_columns_as_text)
        # Each stream's last seq and rate for /api/stats, noted as batches are stored.
        stored_listener_add(census_note_stored)
        # Older samples move into blocks in the background of every producer process.
        timer_listener_add(compactor.nudge)
