"""manage.py seed: demo users, streams of every source kind, starter dashboards, history."""

from __future__ import annotations

import secrets
import socket
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandParser

from config.env import is_loopback_literal
from dashboards.models import Dashboard
from dashboards.starter import dashboard_starter
from streams.demo import DEMO_STREAMS, demo_history_generate, demo_history_todo, demo_streams_create

# The passwords everyone knows, for the demo on this machine's loopback only.
KNOWN_PASSWORDS = {"demo": "demo", "admin": "admin"}
# Letters and digits that read unambiguously on a phone screen (no 0/o, 1/l/i).
PASSWORD_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
ANY_ADDRESS = ("0.0.0.0", "::", "")
# A documentation address (RFC 5737): connecting a UDP socket to it sends nothing,
# but tells which of the machine's addresses faces the network.
ROUTE_PROBE = ("192.0.2.1", 9)


def random_password() -> str:
    """Return a password of three groups of four, e.g. `k7qm-x2fa-p9ds` (about 59 bits)."""
    groups = ("".join(secrets.choice(PASSWORD_ALPHABET) for _ in range(4)) for _ in range(3))
    return "-".join(groups)


def machine_addresses() -> list[str]:
    """Return this machine's name and the IPv4 addresses others may reach it by."""
    hostname = socket.gethostname()
    found = [hostname] if hostname else []
    try:
        infos = socket.getaddrinfo(hostname, None, socket.AF_INET, socket.SOCK_STREAM)
        found += [str(info[4][0]) for info in infos]
    except OSError:
        pass
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(ROUTE_PROBE)
            found.append(str(probe.getsockname()[0]))
        except OSError:
            pass  # no route: a machine without a network
    # The name is kept whatever it resolves to here (Debian maps it to 127.0.1.1):
    # others look it up with their own resolver.
    return [name for name in dict.fromkeys(found) if not is_loopback_literal(name)]


def open_urls(host: str, port: int) -> list[str]:
    """Return the URLs a browser can open a server bound to `host`:`port` at."""
    names = ["127.0.0.1", *machine_addresses()] if host in ANY_ADDRESS else [host]
    return [f"http://{f'[{name}]' if ':' in name else name}:{port}/" for name in names]


class Command(BaseCommand):
    help = "Create the demo users, a stream of every source kind and some history (idempotent)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--no-history", action="store_true", help="create users and streams only"
        )
        parser.add_argument(
            "--new-passwords",
            action="store_true",
            help="give the demo users new random passwords (unless on the loopback demo)",
        )
        parser.add_argument(
            "--urls", action="store_true", help="print the URLs this demo can be opened at"
        )

    def handle(
        self, *args: Any, no_history: bool, new_passwords: bool, urls: bool, **options: Any
    ) -> None:
        demo, demo_password = self.user("demo", staff=False, new_password=new_passwords)
        admin, admin_password = self.user("admin", staff=True, new_password=new_passwords)
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
        if urls:
            for url in open_urls(settings.HOST, settings.PORT):
                self.stdout.write(f"Open {url}")
        self.stdout.write(f"Admin login: admin / {admin_password}   (at /admin/)")
        self.stdout.write(self.style.SUCCESS(f"Demo login: demo / {demo_password}"))

    def user(self, username: str, *, staff: bool, new_password: bool) -> tuple[Any, str]:
        """Return the demo user `username`, made if missing, and the password to print."""
        users = get_user_model().objects
        user = users.filter(username=username).first()
        if user is None:
            user = users.model(username=username, email=f"{username}@example.com")
            user.is_staff = user.is_superuser = staff
            self.stdout.write(f"Created user {username!r}.")
        known = KNOWN_PASSWORDS[username]
        if settings.PULSEBOARD_KNOWN_DEMO_PASSWORDS:
            password = known
            if user.pk is not None and user.check_password(known):
                return user, password
        elif new_password or user.pk is None or user.check_password(known):
            # Reachable from elsewhere: a password nobody can guess, not even
            # the one a loopback demo left behind.
            password = random_password()
        else:
            return user, "(unchanged; `manage.py seed --new-passwords` sets a new one)"
        user.set_password(password)
        user.save()
        return user, password
