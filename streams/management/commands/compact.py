from __future__ import annotations

import signal
import time
from types import FrameType
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from streams.clock import now_ms
from streams.history.compaction import BLOCK_SAMPLES, Cutoffs, compactable, stream_compact
from streams.models import Stream


class Command(BaseCommand):
    help = (
        "Move samples older than the hot tail (PULSEBOARD_HISTORY_HOT_SECONDS) from rows "
        "into compressed blocks, as producers do in the background. Safe to stop at any "
        "moment (Ctrl-C, a kill): every sample stays stored once, and the next run goes on."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--stream", action="append", default=[], help="only this slug")
        parser.add_argument(
            "--wait",
            action="store_true",
            help="move everything past the hot tail now, short runs too, and return when done",
        )
        parser.add_argument(
            "--block-samples", type=int, default=BLOCK_SAMPLES, help="samples a block holds at most"
        )
        parser.add_argument(
            "--hot-seconds", type=int, default=None, help="keep this many seconds as rows"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        streams = Stream.objects.order_by("pk")
        if options["stream"]:
            streams = streams.filter(slug__in=options["stream"])
            missing = set(options["stream"]) - set(streams.values_list("slug", flat=True))
            if missing:
                raise CommandError(f"no stream named {', '.join(sorted(missing))}")
        cutoffs = Cutoffs.at(now_ms())
        if options["hot_seconds"] is not None:
            hot = now_ms() - options["hot_seconds"] * 1000
            cutoffs = Cutoffs(hot=hot, partial=cutoffs.partial - cutoffs.hot + hot)
        if options["wait"]:
            cutoffs = Cutoffs(hot=cutoffs.hot, partial=cutoffs.hot)
        stopping: list[int] = []

        def stop(signum: int, frame: FrameType | None) -> None:
            stopping.append(signum)

        previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
        targets = list(streams.values_list("pk", "slug"))
        total = sum(compactable(pk, cutoffs) for pk, _ in targets)
        began = time.monotonic()
        moved = 0
        try:
            with tqdm(total=total, unit="sample", unit_scale=True, disable=None) as bar:
                for pk, slug in targets:
                    bar.set_description(slug)
                    moved += stream_compact(
                        pk,
                        cutoffs,
                        block_samples=max(1, options["block_samples"]),
                        progress=bar.update,
                        should_stop=lambda: bool(stopping),
                    )
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        seconds = time.monotonic() - began
        verb = "stopped after moving" if stopping else "moved"
        self.stdout.write(f"{verb} {moved:,} samples into blocks in {seconds:.1f} s")
