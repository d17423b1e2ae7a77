"""The sender: the outbox's due notices sent side by side, each contact point's in order.

One dispatcher thread looks at the outbox when woken (a notice queued in this
process, a send that ended) and every second (retries that came due, rows other
processes queued). It claims each contact point's first unfinished notice
(`delivery_claim`) and hands it to a bounded pool of sending threads, which only
send; the dispatcher writes each outcome down, so a sender uses one database
connection however many threads send. A contact point with a notice in flight
gets no other until that one's outcome is written, so its notices stay in order;
one owner holds at most OWNER_THREADS of the pool, so a user whose receivers are
slow or dead leaves the other threads to everyone else. Nothing is claimed
without a free thread to send it: a claim never waits in a queue.

A sender runs in `manage.py sendalerts` (the worker, on its own) and, unless
PULSEBOARD_ALERT_SENDER is off, in every process that runs a producer: the
producer's clock calls `sender_on_clock`, which starts this process's sender.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import Counter
from dataclasses import dataclass

from django.conf import settings
from django.db import close_old_connections, connections

from alerts.delivery import (
    Next,
    Outcome,
    deliveries_next,
    deliveries_waker_add,
    deliveries_waker_remove,
    delivery_claim,
    delivery_claimed,
    delivery_record,
    delivery_send,
)
from alerts.models import Delivery
from streams.clock import now_ms
from streams.messages import Outgoing

log = logging.getLogger(__name__)

# Sending threads of one sender, and how many of them one owner's contact points may hold.
POOL_THREADS = 16
OWNER_THREADS = 4
# How often the dispatcher looks for retries that came due, when nothing wakes it.
POLL_SECONDS = 1.0
# On stop, how long sends in flight may finish (a webhook waits at most 5 s for its answer).
STOP_SECONDS = 10.0


@dataclass(frozen=True)
class Job:
    delivery: Delivery
    slot: Next


class Sender:
    """Claims what is due in the outbox and sends it with a bounded pool of threads."""

    def __init__(self, *, threads: int = POOL_THREADS, per_owner: int = OWNER_THREADS) -> None:
        self.threads, self.per_owner = threads, per_owner
        self.wake = threading.Event()
        self.stopping = threading.Event()
        self.started, self.ended = threading.Event(), threading.Event()
        self.lock = threading.Lock()
        self.busy_contacts: set[int] = set()
        self.busy_owners: Counter[int] = Counter()
        self.jobs: queue.SimpleQueue[Job | None] = queue.SimpleQueue()
        # Sends that ended, for the dispatcher to write down (None: the send itself broke).
        self.done: queue.SimpleQueue[tuple[Job, Outcome | None]] = queue.SimpleQueue()
        self.unrecorded: list[tuple[Job, Outcome | None]] = []
        self.unread: list[Next] = []
        self.workers = [
            threading.Thread(target=self.work, name=f"alert-send-{n}", daemon=True)
            for n in range(threads)
        ]

    def in_flight(self) -> int:
        with self.lock:
            return len(self.busy_contacts)

    def take(self, slot: Next) -> bool:
        """Reserve a thread for the contact's notice; False when the rules above say wait."""
        with self.lock:
            if (
                len(self.busy_contacts) >= self.threads
                or slot.contact in self.busy_contacts
                or self.busy_owners[slot.owner] >= self.per_owner
            ):
                return False
            self.busy_contacts.add(slot.contact)
            self.busy_owners[slot.owner] += 1
            return True

    def release(self, slot: Next) -> None:
        with self.lock:
            self.busy_contacts.discard(slot.contact)
            self.busy_owners[slot.owner] -= 1
            if self.busy_owners[slot.owner] <= 0:
                del self.busy_owners[slot.owner]

    def record(self) -> None:
        """Write down the sends that ended and free their threads (a contact's next may go).

        An outcome the database would not take is tried again on the next turn, its
        thread kept: the contact's next notice must not overtake it.
        """
        ended, self.unrecorded = self.unrecorded, []
        while True:
            try:
                ended.append(self.done.get_nowait())
            except queue.Empty:
                break
        for job, outcome in ended:
            try:
                if outcome is not None:
                    delivery_record(job.delivery, outcome, now_ms())
            except Exception:
                log.exception(
                    "recording alert notice %s failed; again in a second", job.delivery.pk
                )
                self.unrecorded.append((job, outcome))
            else:
                self.release(job.slot)

    def hand_out(self, slot: Next) -> bool:
        """Give a notice this sender claimed to a thread; False (thread kept) if it cannot be read now."""
        try:
            self.jobs.put(Job(delivery_claimed(slot.delivery), slot))
        except Delivery.DoesNotExist:
            self.release(slot)  # deleted with its contact point since
        except Exception:
            # Claimed and ours: read again on the next turn, before anything of its contact.
            self.unread.append(slot)
            log.exception("reading alert notice %s failed; again in a second", slot.delivery)
            return False
        return True

    def dispatch(self, now: int) -> int:
        """Claim each due notice that is first in line and has a free thread; return how many went."""
        unread, self.unread = self.unread, []
        handed = sum(self.hand_out(slot) for slot in unread)
        for slot in deliveries_next():
            if self.in_flight() >= self.threads:
                break
            if not self.take(slot):
                continue
            try:
                claimed = delivery_claim(slot.delivery, now)
            except Exception:
                self.release(slot)
                raise
            if not claimed:
                self.release(slot)
            elif self.hand_out(slot):
                handed += 1
        return handed

    def work(self) -> None:
        """Send the jobs handed to this thread until told to stop; touch no database."""
        while (job := self.jobs.get()) is not None:
            outcome: Outcome | None = None
            try:
                outcome = delivery_send(job.delivery)
            except Exception:
                # Not recorded: the row keeps its claim and is sent again once it runs out.
                log.exception("sending alert notice %s failed", job.delivery.pk)
            self.done.put((job, outcome))
            self.wake.set()

    def run(self) -> None:
        """Dispatch until `stop`: at once when woken, else every POLL_SECONDS."""
        self.started.set()
        for worker in self.workers:
            worker.start()
        deliveries_waker_add(self.wake)
        try:
            while not self.stopping.is_set():
                self.wake.clear()
                close_old_connections()
                try:
                    self.record()
                    self.dispatch(now_ms())
                except Exception:
                    log.exception("looking for alert notices to send failed; again in a second")
                self.wake.wait(POLL_SECONDS)
        finally:
            deliveries_waker_remove(self.wake)
            connections.close_all()
            self.ended.set()

    def stop(self) -> None:
        """Ask the dispatcher to stop (safe from a signal handler); `finish` waits for the sends."""
        self.stopping.set()
        self.wake.set()

    def finish(self, timeout: float = STOP_SECONDS) -> int:
        """Let the sends in flight end (at most `timeout`) and write them down; return how many did not."""
        deadline = time.monotonic() + timeout
        if self.started.is_set():
            # Only the dispatcher writes outcomes down while it runs.
            self.ended.wait(timeout)
        for _ in self.workers:
            self.jobs.put(None)
        for worker in self.workers:
            if worker.is_alive():
                worker.join(max(0.0, deadline - time.monotonic()))
        try:
            self.record()
        finally:
            connections.close_all()
        return self.in_flight()


# -- this process's sender, beside a producer ------------------------------------------

_running: tuple[Sender, threading.Thread] | None = None
_running_lock = threading.Lock()


def sender_start() -> Sender | None:
    """Start this process's sender in a thread, unless one runs or PULSEBOARD_ALERT_SENDER is off."""
    global _running
    if not settings.PULSEBOARD_ALERT_SENDER:
        return None
    with _running_lock:
        if _running is None or not _running[1].is_alive():
            sender = Sender()
            thread = threading.Thread(target=sender.run, name="alert-dispatch", daemon=True)
            thread.start()
            _running = (sender, thread)
        return _running[0]


def sender_stop(timeout: float = STOP_SECONDS) -> None:
    """Stop this process's sender and wait for its sends in flight (at most `timeout`)."""
    global _running
    with _running_lock:
        running, _running = _running, None
    if running is not None:
        sender, thread = running
        sender.stop()
        thread.join(timeout)
        sender.finish(timeout)


def sender_on_clock(now: int) -> list[Outgoing]:
    """Keep this process's sender running (a listener of the producer's clock); send nothing."""
    sender_start()
    return []
