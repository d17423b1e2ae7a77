"""Who hears the clock: listeners the user plane registers, called by the producer each second.

Some decisions depend on time passing, not on samples arriving (a rule whose
stream went silent). `dashboards` registers a listener in its `AppConfig.ready()`;
every running producer calls `timers_fire` about once a second in its database
thread and sends what the listeners returned.
"""

from __future__ import annotations

from streams.listeners import Listeners

TIMER_SECONDS = 1.0

_timers: Listeners[int] = Listeners("a timer listener failed; it is called again next second")
# Call a listener with the time (ms) about once a second in every producer.
timer_listener_add = _timers.add
# Tell every listener the time; return the messages they want sent. Never fails the loop.
timers_fire = _timers.call
