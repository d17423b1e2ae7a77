"""Who hears that samples were stored: listeners the user plane registers at startup.

The data plane knows nothing of alert rules. `dashboards` registers a listener in
its `AppConfig.ready()`; whoever stored a batch (the producer, a push) calls
`samples_stored` in the same database thread and sends what the listeners
returned once the batch is published.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from streams.contract import Outgoing, SampleFrame

log = logging.getLogger(__name__)

StoredListener = Callable[[dict[int, list[SampleFrame]]], list[Outgoing]]
_listeners: list[StoredListener] = []


def stored_listener_add(listener: StoredListener) -> None:
    """Call `listener` with every stored batch (registered once, at startup)."""
    if listener not in _listeners:
        _listeners.append(listener)


def samples_stored(batches: dict[int, list[SampleFrame]]) -> list[Outgoing]:
    """Tell every listener; return the messages they want sent. Never fails the write."""
    outgoing: list[Outgoing] = []
    for listener in _listeners:
        try:
            outgoing.extend(listener(batches))
        except Exception:
            log.exception("a listener of stored samples failed; the samples are stored")
    return outgoing
