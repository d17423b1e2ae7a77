from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from streams.models import ApiToken


class Command(BaseCommand):
    help = "Create an API token for a user and print it (the token is the last word)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--name", default="", help="a note to recognise the token by")

    def handle(self, *args: Any, username: str, name: str, **options: Any) -> None:
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"There is no user {username!r}.")
        _, token = ApiToken.objects.issue(user=user, name=name)
        self.stdout.write(f"API token for {username}: {token}")
