"""Who hears that samples were stored: listeners the user plane registers at startup.

The data plane knows nothing of alert rules. `dashboards` registers a listener in
its `AppConfig.ready()`; whoever stored a batch (the producer, a push) calls
`samples_stored` in the same database thread and sends what the listeners
returned once the batch is published.
"""

from __future__ import annotations

from streams.listeners import Listeners
from streams.messages import SampleFrame

_stored: Listeners[dict[int, list[SampleFrame]]] = Listeners(
    "a listener of stored samples failed; the samples are stored"
)
# Call a listener with every stored batch (registered once, at startup).
stored_listener_add = _stored.add
# Tell every listener; return the messages they want sent. Never fails the write.
samples_stored = _stored.call
