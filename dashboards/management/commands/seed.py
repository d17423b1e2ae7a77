"""manage.py seed: demo users, streams of every source kind, starter dashboards, history."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandParser

from dashboards.models import Dashboard
from dashboards.starter import dashboard_starter
from streams.demo import DEMO_STREAMS, demo_history_generate, demo_history_todo, demo_streams_create

DEMO_PASSWORD = "demo"
ADMIN_PASSWORD = "admin"


class Command(BaseCommand):
    help = "Create the demo users, a stream of every source kind and some history (idempotent)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--no-history", action="store_true", help="create users and streams only"
        )

    def handle(self, *args: Any, no_history: bool, **options: Any) -> None:
        demo = self.user("demo", DEMO_PASSWORD, staff=False)
        admin = self.user("admin", ADMIN_PASSWORD, staff=True)
        created = demo_streams_create(demo)
        self.stdout.write(f"Streams: {len(DEMO_STREAMS)} ({len(created)} new).")
        # Users made before the streams existed got empty starters; fill them now.
        for user, full in ((demo, True), (admin, False)):
            if not Dashboard.objects.filter(owner=user, widgets__isnull=False).exists():
                Dashboard.objects.filter(owner=user).delete()
                dashboard_starter(owner=user, full=full)
        if not no_history:
            todo = demo_history_todo()
            if todo:
                demo_history_generate(todo)
            else:
                self.stdout.write("History: already there.")
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
