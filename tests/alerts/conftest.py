"""Fixtures of the alert tests (the actors, their dashboard and rule are the root conftest's)."""

from __future__ import annotations

import pytest

from streams.models import Stream


@pytest.fixture
def stream(private_stream: Stream) -> Stream:
    """Alice's sensor, running: its rules are evaluated and can go silent."""
    Stream.objects.filter(pk=private_stream.pk).update(running=True)
    private_stream.running = True
    return private_stream
