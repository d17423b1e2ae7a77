from __future__ import annotations

import re
import time
from datetime import UTC, datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from streams.history.reader import samples_count
from streams.history.samples import history_last_seq
from streams.models import SourceKind, Stream
from streams.sources import source_settings_errors

RELATIVE = re.compile(r"^-?(\d+(?:\.\d+)?)([smhd])$")
UNIT_MS = {"s": 1_000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}
STALL_HINT_SECONDS = 5


def parse_when(text: str, now: int) -> int:
    """Return UTC ms for 'now', '10m' or '-10m' (s/m/h/d ago), epoch ms, or ISO 8601."""
    text = text.strip()
    if text == "now":
        return now
    match = RELATIVE.match(text)
    if match:
        return now - int(float(match[1]) * UNIT_MS[match[2]])
    if text.isdigit():
        return int(text)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise CommandError(
            f"{text!r} is not a time: use now, 10m, 2h (ago), ms or ISO 8601"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


class Command(BaseCommand):
    help = (
        "Re-publish a stream's stored history, live, into a replay stream "
        "(replay.<stream> unless --into) at --speed; the producer plays it."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("stream", help="slug of the stream whose history to replay")
        parser.add_argument(
            "--from", dest="start", default="10m", help="start: now, 10m (ago), 2h, ms or ISO 8601"
        )
        parser.add_argument("--to", dest="end", default="now", help="end (exclusive), same forms")
        parser.add_argument(
            "--speed", type=float, default=1.0, help="1 = as recorded, 10 = ten times faster"
        )
        parser.add_argument("--into", default="", help="slug of the replay stream")
        parser.add_argument(
            "--loop", action="store_true", help="start again at the end, until stopped"
        )
        parser.add_argument("--no-wait", action="store_true", help="set the replay up and exit")

    def handle(self, *args: Any, **options: Any) -> None:
        source = Stream.objects.filter(slug=options["stream"]).first()
        if source is None:
            raise CommandError(f"There is no stream {options['stream']!r}.")
        now = int(time.time() * 1000)
        start, end = parse_when(options["start"], now), parse_when(options["end"], now)
        settings = {
            "source": source.slug,
            "from": start,
            "to": end,
            "speed": options["speed"],
            "loop": int(options["loop"]),
        }
        errors = source_settings_errors("replay", settings)
        if errors:
            raise CommandError("; ".join(errors))
        total = samples_count(source.pk, start=start, end=end)
        if total == 0:
            raise CommandError(f"{source.slug} has no samples between {start} and {end}.")
        target = self.replay_stream(
            source, options["into"] or f"replay.{source.slug}"[:80], settings
        )
        seconds = (end - start) / 1000 / options["speed"]
        self.stdout.write(
            f"Replaying {total} samples of {source.slug} into {target.slug} at {options['speed']:g}× "
            f"(about {seconds:.0f} s)."
        )
        if options["loop"] or options["no_wait"]:
            return
        self.follow(target, total)

    def replay_stream(self, source: Stream, slug: str, settings: dict[str, Any]) -> Stream:
        target, _ = Stream.objects.get_or_create(
            slug=slug,
            defaults={
                "title": f"Replay of {source.title}",
                "source_kind": SourceKind.REPLAY,
                "owner": source.owner,
                "is_public": source.is_public,
                "retention_seconds": source.retention_seconds,
            },
        )
        if target.source_kind != SourceKind.REPLAY:
            raise CommandError(f"{slug} exists and is a {target.source_kind} stream, not a replay.")
        target.fields = source.fields
        target.source_settings = settings
        target.running = True
        target.save(update_fields=["fields", "source_settings", "running"])
        self.first_seq = history_last_seq(target.pk) + 1
        return target

    def follow(self, target: Stream, total: int) -> None:
        """Show the replay's progress until the producer has played every sample."""
        done = 0
        quiet_since = time.monotonic()
        with tqdm(total=total, unit=" samples", desc=f"Replaying into {target.slug}") as progress:
            while done < total:
                time.sleep(0.5)
                now_done = samples_count(target.pk, after_seq=self.first_seq - 1)
                progress.update(now_done - done)
                if now_done > done:
                    quiet_since = time.monotonic()
                elif time.monotonic() - quiet_since > STALL_HINT_SECONDS:
                    running = Stream.objects.filter(pk=target.pk, running=True).exists()
                    if not running:
                        raise CommandError(f"{target.slug} was stopped before the end.")
                    progress.write("Waiting for a producer (make demo, or manage.py produce)…")
                    quiet_since = time.monotonic()
                done = now_done
        self.stdout.write(self.style.SUCCESS(f"Replayed {total} samples into {target.slug}."))
