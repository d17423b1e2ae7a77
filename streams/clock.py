"""The one clock of the data plane: UTC milliseconds, as samples carry them."""

from __future__ import annotations

import time


def now_ms() -> int:
    """Return the current UTC time in whole milliseconds."""
    return int(time.time() * 1000)
