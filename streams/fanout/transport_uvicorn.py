"""Direct writes to uvicorn's WebSockets: the one module that reaches into uvicorn.

uvicorn's ASGI `send` of a WebSocket is a bound method of its sans-I/O protocol
(`WebSocketsSansIOProtocol`, `ws="websockets-sansio"`). Through `send.__self__`
this adapter reads what uvicorn does not document — the connection's state
(`close_sent`, `disconnected`, `handshake_complete`, `writable`, `conn.state`,
`conn.extensions`) and its asyncio `transport` — to write live frames straight
to the transport (streams/fanout/transport.py, `DirectWriter`).

The first socket of the process checks that every member is there; when one is
not (another uvicorn), it logs once, naming it, and every socket of the process
writes through the ASGI `send` instead, as on Daphne. So does every socket when
PULSEBOARD_DIRECT_WRITES is off. Choosing a writer never fails a handshake.
"""

from __future__ import annotations

import importlib
import logging
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from django.conf import settings
from websockets.protocol import State

from streams.fanout.transport import DirectWriter, Send, Writer, wire_frame, write_batch

log = logging.getLogger(__name__)

PROTOCOL_MODULE = "uvicorn.protocols.websockets.websockets_sansio_impl"
PROTOCOL_CLASS = "WebSocketsSansIOProtocol"
# What this module reads of the protocol, and of its websockets connection (`conn`).
PROTOCOL_MEMBERS = (
    "close_sent",
    "disconnected",
    "handshake_complete",
    "writable",
    "conn",
    "transport",
)
CONNECTION_MEMBERS = ("state", "extensions")
TRANSPORT_MEMBERS = ("write", "writelines", "is_closing")


def protocol_class() -> type | None:
    """Return uvicorn's sans-I/O WebSocket protocol class, or None where it is not to be found."""
    try:
        module = importlib.import_module(PROTOCOL_MODULE)
    except ImportError:
        return None
    found = getattr(module, PROTOCOL_CLASS, None)
    return found if isinstance(found, type) else None


def contract_missing(protocol: Any) -> list[str]:
    """Return the members this module uses that `protocol` (an accepted socket's) lacks."""
    name = type(protocol).__name__
    missing = [f"{name}.{member}" for member in PROTOCOL_MEMBERS if not hasattr(protocol, member)]
    conn = getattr(protocol, "conn", None)
    if conn is not None:
        missing += [f"{name}.conn.{m}" for m in CONNECTION_MEMBERS if not hasattr(conn, m)]
    writable = getattr(protocol, "writable", None)
    if writable is not None and not callable(getattr(writable, "is_set", None)):
        missing.append(f"{name}.writable.is_set")
    transport = getattr(protocol, "transport", None)
    if transport is not None:
        missing += [f"{name}.transport.{m}" for m in TRANSPORT_MEMBERS if not hasattr(transport, m)]
    return missing


class Contract:
    """Whether this process's uvicorn has what the direct path uses: checked once, logged once."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        """Forget the verdict: the next socket checks again (for tests)."""
        self.looked_up = False
        self.protocol_cls: type | None = None
        self.verdict: bool | None = None

    def protocol_of(self, send: Send) -> Any | None:
        """Return uvicorn's sans-I/O protocol behind `send`, or None for another server's `send`."""
        if not self.looked_up:
            self.looked_up = True
            self.protocol_cls = protocol_class()
        protocol = getattr(send, "__self__", None)
        if self.protocol_cls is None:
            if self.verdict is None and type(protocol).__module__.startswith("uvicorn."):
                self.refuse([f"{PROTOCOL_MODULE}.{PROTOCOL_CLASS}"])
            return None
        return protocol if isinstance(protocol, self.protocol_cls) else None

    def holds(self, protocol: Any) -> bool:
        """Return whether direct writes may be used; the first socket of uvicorn's decides."""
        if self.verdict is None:
            missing = contract_missing(protocol)
            if missing:
                self.refuse(missing)
            else:
                self.verdict = True
        return bool(self.verdict)

    def refuse(self, missing: list[str]) -> None:
        self.verdict = False
        log.warning(
            "uvicorn %s lacks %s: every socket writes through ASGI send (a slower fan-out)",
            uvicorn_version(),
            ", ".join(missing),
        )


def uvicorn_version() -> str:
    try:
        return version("uvicorn")
    except PackageNotFoundError:
        return "(not installed)"


contract = Contract()
_said_off = False


class UvicornWriter(DirectWriter):
    """A `DirectWriter` that knows when uvicorn's socket may be written to."""

    __slots__ = ("protocol",)

    def __init__(self, send: Send, protocol: Any):
        super().__init__(send, protocol.transport, write_batch())
        self.protocol = protocol

    def write_shared(self, text: str) -> bool:
        """Write a live frame now if the socket is open and keeping up, as uvicorn's `send` checks."""
        protocol = self.protocol
        if (
            protocol.close_sent
            or protocol.disconnected
            or not protocol.writable.is_set()
            or protocol.conn.state is not State.OPEN
            or self.transport.is_closing()
        ):
            return False
        return self.take(wire_frame(text))


def socket_writer(send: Send) -> Writer:
    """Return the writer of an accepted socket: direct on uvicorn where allowed, else ASGI `send`."""
    try:
        direct = direct_writer(send)
    except Exception:
        log.exception("could not set up direct writes; this socket writes through ASGI send")
        direct = None
    return direct if direct is not None else Writer(send)


def direct_writer(send: Send) -> UvicornWriter | None:
    """Return a direct writer for `send` of uvicorn's sans-I/O socket, None for any other."""
    global _said_off
    if not settings.PULSEBOARD_DIRECT_WRITES:
        if not _said_off:
            _said_off = True
            log.info("PULSEBOARD_DIRECT_WRITES is off: every socket writes through ASGI send")
        return None
    protocol = contract.protocol_of(send)
    if protocol is None or not contract.holds(protocol):
        return None
    if protocol.conn.extensions or not protocol.handshake_complete:
        return None  # a compressed socket frames each message for itself
    return UvicornWriter(send, protocol)
