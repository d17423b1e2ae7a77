"""A registry of functions an upper app adds at startup, called where the data plane acts.

The data plane stays ignorant of alerts and dashboards: they register listeners
(of stored samples, of the clock) in `AppConfig.ready()`, and each listener
returns the messages it wants sent, which the caller sends after its own work.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Generic, TypeVar

from streams.messages import Outgoing

Argument = TypeVar("Argument")


class Listeners(Generic[Argument]):
    """Functions the user plane registers at startup, each returning messages to send.

    The data plane calls them where something happened (samples stored, a second
    passed) and sends what they return; one that fails is logged and the others
    still run, so a listener never fails the work that called it.
    """

    def __init__(self, failure: str):
        self.failure = failure
        self.functions: list[Callable[[Argument], list[Outgoing]]] = []

    def add(self, function: Callable[[Argument], list[Outgoing]]) -> None:
        if function not in self.functions:
            self.functions.append(function)

    def call(self, argument: Argument) -> list[Outgoing]:
        outgoing: list[Outgoing] = []
        for function in self.functions:
            try:
                outgoing.extend(function(argument))
            except Exception:
                logging.getLogger(__name__).exception(self.failure)
        return outgoing
