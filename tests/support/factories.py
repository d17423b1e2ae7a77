"""Rows a test needs, with defaults a reader can guess and keyword overrides for the rest."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model

from alerts.models import AlertRule
from alerts.services import alert_rule_save
from dashboards import services
from dashboards.models import Dashboard
from streams.models import ApiToken, SourceKind, Stream
from streams.sources import SOURCES


def make_user(username: str = "alice", *, password: str | None = None, **extra: Any) -> Any:
    """Return a new active user, `<username>@example.com`, password `<username>-password`."""
    email = extra.pop("email", f"{username}@example.com")
    return get_user_model().objects.create_user(
        username, email, password or f"{username}-password", **extra
    )


def make_stream(
    slug: str = "sensors.test",
    *,
    kind: Any = SourceKind.PUSH,  # a SourceKind (Django's choices are untyped here)
    fields: list[dict[str, Any]] | None = None,
    **extra: Any,
) -> Stream:
    """Return a new stream; its title is its slug, its fields its source kind's unless given.

    Anything else (`owner`, `is_public`, `running`, `source_settings`, `title`) is a
    model field passed as it is; the model's defaults hold otherwise.
    """
    source = SOURCES.get(kind)
    if fields is None:
        fields = [dict(field) for field in getattr(source, "fields", [])]
    extra.setdefault("title", slug)
    return Stream.objects.create(slug=slug, source_kind=kind, fields=fields, **extra)


def make_dashboard(
    owner: Any,
    title: str = "Plant floor",
    *,
    streams: tuple[Stream, ...] = (),
    shared_with: tuple[Any, ...] = (),
    link: bool = False,
) -> Dashboard:
    """Return a new dashboard of `owner`'s: a stat widget per stream, shared as asked."""
    board = services.dashboard_create(owner=owner, title=title)
    for stream in streams:
        services.widget_save(dashboard=board, user=owner, kind="stat", stream=stream)
    for user in shared_with:
        services.share_add(dashboard=board, user=user)
    if link:
        services.link_create(dashboard=board)
    return board


def make_token(user: Any, name: str = "") -> str:
    """Return a new API token of `user`'s (the secret itself, as shown once)."""
    return ApiToken.objects.issue(user=user, name=name)[1]


def make_rule(
    owner: Any, stream: Stream, *, contacts: list[Any] | None = None, **fields: Any
) -> AlertRule:
    """Return a saved rule: `temperature` above 30 for 5 s, named "Too warm", unless overridden."""
    defaults: dict[str, Any] = {
        "name": "Too warm",
        "field": "temperature",
        "condition": "above",
        "threshold": 30.0,
        "duration_seconds": 5,
    }
    rule = AlertRule(owner=owner, stream=stream, **{**defaults, **fields})
    return alert_rule_save(rule=rule, contacts=contacts)
