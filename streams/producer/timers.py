"""Who hears the clock: listeners the user plane registers, called by the producer each second.

Some decisions depend on time passing, not on samples arriving (a rule whose
stream went silent). `dashboards` registers a listener in its `AppConfig.ready()`;
every running producer calls `timers_fire` about once a second in its database
thread and sends what the listeners returned.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from streams.contract import Outgoing

log = logging.getLogger(__name__)

TIMER_SECONDS = 1.0

TimerListener = Callable[[int], list[Outgoing]]
_listeners: list[TimerListener] = []


def timer_listener_add(listener: TimerListener) -> None:
    """Call `listener(now_ms)` about once a second in every producer (registered at startup)."""
    if listener not in _listeners:
        _listeners.append(listener)


def timers_fire(now: int) -> list[Outgoing]:
    """Tell every listener the time; return the messages they want sent. Never fails the loop."""
    outgoing: list[Outgoing] = []
    for listener in _listeners:
        try:
            outgoing.extend(listener(now))
        except Exception:
            log.exception("a timer listener failed; it is called again next second")
    return outgoing
