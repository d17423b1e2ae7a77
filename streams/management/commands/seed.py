from __future__ import annotations

import random
import time
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandParser
from tqdm import tqdm

from dashboards.models import Dashboard
from dashboards.starter import dashboard_starter
from streams.history import history_append, sample_frame
from streams.models import Sample, SourceKind, Stream
from streams.sources import SOURCES, source_create

DEMO_PASSWORD = "demo"
ADMIN_PASSWORD = "admin"
HOUR = 3600

# slug, title, kind, settings, retention, seconds of history to generate
DEMO_STREAMS: list[tuple[str, str, str, dict[str, Any], int, int]] = [
    ("sensors.lab-1", "Lab 1 environment", "sensor", {}, 7 * 24 * HOUR, 2 * HOUR),
    ("sensors.lab-2", "Lab 2 environment", "sensor", {}, 7 * 24 * HOUR, 2 * HOUR),
    ("system.host", "This host", "system", {}, 7 * 24 * HOUR, 0),
    (
        "sine.1khz",
        "Sine, 1 kHz sampling",
        "sine",
        {"frequency": 1.0, "amplitude": 1.0, "rate": 1000},
        HOUR,
        60,
    ),
    ("anomaly.demo", "Anomaly detector", "anomaly", {}, 7 * 24 * HOUR, 2 * HOUR),
    ("business.kpi", "Business counters", "business", {}, 7 * 24 * HOUR, 2 * HOUR),
    ("price.BTC-USD", "BTC-USD market", "market", {"symbol": "BTC-USD"}, 24 * HOUR, HOUR // 2),
    ("push.demo", "Pushed by scripts", "push", {}, 7 * 24 * HOUR, 0),
    (
        "replay.lab-1",
        "Lab 1, last hour at 10×",
        "replay",
        {"source": "sensors.lab-1", "speed": 10, "loop": 1},
        24 * HOUR,
        0,
    ),
]
PUSH_FIELDS = [{"name": "value", "unit": ""}]
BATCH = 5_000


class Command(BaseCommand):
    help = "Create the demo users, a stream of every source kind and some history (idempotent)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--no-history", action="store_true", help="create users and streams only"
        )

    def handle(self, *args: Any, no_history: bool, **options: Any) -> None:
        demo = self.user("demo", DEMO_PASSWORD, staff=False)
        admin = self.user("admin", ADMIN_PASSWORD, staff=True)
        created = []
        now = int(time.time() * 1000)
        for slug, title, kind, source_settings, retention, _ in DEMO_STREAMS:
            fields = SOURCES[kind].fields if kind in SOURCES else PUSH_FIELDS
            if kind == "replay":
                # The last hour of its source, as it stands when the demo is seeded.
                source_settings = {**source_settings, "from": now - HOUR * 1000, "to": now}
                fields = Stream.objects.get(slug=source_settings["source"]).fields
            _, was_created = Stream.objects.get_or_create(
                slug=slug,
                defaults={
                    "title": title,
                    "source_kind": kind,
                    "source_settings": source_settings,
                    "fields": fields,
                    "owner": demo,
                    "is_public": True,
                    "retention_seconds": retention,
                },
            )
            if was_created:
                created.append(slug)
        self.stdout.write(f"Streams: {len(DEMO_STREAMS)} ({len(created)} new).")
        # Users made before the streams existed got empty starters; fill them now.
        for user, full in ((demo, True), (admin, False)):
            if not Dashboard.objects.filter(owner=user, widgets__isnull=False).exists():
                Dashboard.objects.filter(owner=user).delete()
                dashboard_starter(owner=user, full=full)
        if not no_history:
            self.seed_history()
        self.stdout.write(
            self.style.SUCCESS("Demo login: demo / demo   (admin: admin / admin at /admin/)")
        )

    def user(self, username: str, password: str, *, staff: bool) -> Any:
        users = get_user_model().objects
        user = users.filter(username=username).first()
        if user is None:
            if staff:
                user = users.create_superuser(username, f"{username}@example.com", password)
            else:
                user = users.create_user(username, f"{username}@example.com", password)
            self.stdout.write(f"Created user {username!r}.")
        return user

    def seed_history(self) -> None:
        """Generate history for streams that have none, by running their sources on a past clock."""
        now = int(time.time() * 1000)
        todo = []
        for slug, _, kind, source_settings, _, seconds in DEMO_STREAMS:
            stream = Stream.objects.get(slug=slug)
            if (
                seconds
                and kind != SourceKind.SYSTEM
                and not Sample.objects.filter(stream=stream).exists()
            ):
                todo.append(
                    (stream, source_create(kind, source_settings, rng=random.Random(slug)), seconds)
                )
        if not todo:
            self.stdout.write("History: already there.")
            return
        total = sum(seconds for _, _, seconds in todo)
        with tqdm(total=total, unit="s", desc="Generating history", disable=None) as progress:
            for stream, source, seconds in todo:
                self.generate(stream, source, now - seconds * 1000, now, progress)

    def generate(self, stream: Stream, source: Any, start: int, end: int, progress: tqdm) -> None:
        source.next_t = float(start)
        seq = 0
        batch = []
        # Steps shorter than the sources' catch-up limit, so nothing is skipped.
        for step_end in range(start, end + 1, 1_000):
            for reading in source.poll(step_end):
                seq += 1
                batch.append(sample_frame(seq, reading.t, reading.values, reading.flags))
            progress.update(1)
            if len(batch) >= BATCH:
                history_append({stream.pk: batch})
                batch = []
        if batch:
            history_append({stream.pk: batch})
