from __future__ import annotations

import signal
import time
from pathlib import Path
from types import FrameType
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from streams.clock import now_ms
from streams.history.compaction import BLOCK_SAMPLES
from streams.http.export import FORMULA_STARTS
from streams.models import Stream
from streams.producer.imports import (
    ImportCheck,
    ImportRefused,
    history_import,
    history_import_check,
    iso,
    stream_newest,
)


class Command(BaseCommand):
    help = (
        "Load a CSV (.csv, .csv.gz) or Parquet file of history into a stream, straight into "
        "compressed blocks: columns t (ms since the epoch) or time (ISO 8601), seq (optional: "
        "without it seqs go on from the stream's newest), one per declared field, flags "
        "(optional), as export.csv writes them. The whole file is checked first; a stream with "
        "history takes only what comes after its newest sample. Safe to stop (Ctrl-C, a kill): "
        "what was written is whole blocks, and --skip-stored goes on from there."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("stream", help="the stream's slug")
        parser.add_argument("file", type=Path, help="a .csv, .csv.gz or .parquet file")
        parser.add_argument(
            "--ignore-extra", action="store_true", help="skip columns that name no declared field"
        )
        parser.add_argument(
            "--skip-stored",
            action="store_true",
            help="skip the file's rows at or below the stream's newest seq (an import that stopped)",
        )
        parser.add_argument("--quiet", action="store_true", help="no progress bar")
        parser.add_argument(
            "--block-samples", type=int, default=BLOCK_SAMPLES, help="samples a block holds at most"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        stream = Stream.objects.filter(slug=options["stream"]).first()
        if stream is None:
            raise CommandError(f"no stream named {options['stream']}")
        path: Path = options["file"]
        if not path.is_file():
            raise CommandError(f"{path}: no such file")
        reading = {
            "ignore_extra": options["ignore_extra"],
            "skip_stored": options["skip_stored"],
            "unquote": FORMULA_STARTS,
        }
        began = time.monotonic()
        quiet = True if options["quiet"] else None  # None: a bar on a terminal only
        try:
            with tqdm(unit=" rows", unit_scale=True, desc="Checking", disable=quiet) as bar:
                check = history_import_check(stream, path, **reading, progress=bar.update)
        except ImportRefused as refused:
            raise CommandError(f"{path.name}: {refused}") from refused
        self.report_check(stream, check)
        stopping: list[int] = []

        def stop(signum: int, frame: FrameType | None) -> None:
            stopping.append(signum)

        previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
        stored = 0
        try:
            with tqdm(
                total=check.samples,
                unit=" samples",
                unit_scale=True,
                desc=f"Importing into {stream.slug}",
                disable=quiet,
            ) as bar:

                def progress(count: int) -> None:
                    nonlocal stored
                    stored += count
                    bar.update(count)

                history_import(
                    stream,
                    path,
                    check,
                    **reading,
                    block_samples=max(2, options["block_samples"]),
                    progress=progress,
                    should_stop=lambda: bool(stopping),
                )
        except ImportRefused as refused:
            raise CommandError(f"{refused} ({stored:,} samples stored before that)") from refused
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        seconds = max(time.monotonic() - began, 1e-9)
        self.report_done(stream, check, stored, seconds, stopped=bool(stopping))

    def report_check(self, stream: Stream, check: ImportCheck) -> None:
        if check.layout.ignored:
            self.stderr.write(f"Ignoring column(s) {', '.join(check.layout.ignored)}.")
        if check.skipped:
            self.stderr.write(
                f"Skipping {check.skipped:,} rows already stored (up to seq {check.newest.seq})."
                if check.newest
                else f"Skipping {check.skipped:,} rows."
            )
        cutoff = now_ms() - stream.retention_seconds * 1000
        if check.first_t < cutoff:
            self.stderr.write(
                self.style.WARNING(
                    f"Warning: samples before {iso(cutoff)} are older than {stream.slug}'s"
                    f" retention ({stream.retention_seconds:,} s): the next retention pass drops"
                    " them (whole blocks whose newest sample is past it), and their rollups"
                    " past each tier's retention."
                )
            )

    def report_done(
        self, stream: Stream, check: ImportCheck, stored: int, seconds: float, *, stopped: bool
    ) -> None:
        newest = stream_newest(stream.pk)
        last_seq, last_t = (newest.seq, newest.t) if newest else (check.last_seq, check.last_t)
        verb = "Stopped after importing" if stopped else "Imported"
        self.stdout.write(
            f"{verb} {stored:,} samples into {stream.slug}: seq {check.first_seq:,}–{last_seq:,},"
            f" {iso(check.first_t)} to {iso(last_t)}, in {seconds:.1f} s"
            f" ({stored / seconds:,.0f} samples/s)"
        )
        if stopped and check.layout.has_seq:
            self.stdout.write("Run it again with --skip-stored to import the rest.")
        elif stopped:
            self.stdout.write(f"The rest: the file's rows after seq {last_seq} (its t {last_t}).")
