"""Writes about dashboards: their life cycle, widgets, layout, sharing, import and export."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max

from dashboards.kinds import KINDS
from dashboards.models import Dashboard, DashboardShare, Widget
from dashboards.series import (
    Series,
    series_check,
    series_from_json,
    series_readable,
    series_replace,
    widget_series,
)
from dashboards.widgets import (
    LAYOUT_FIELDS,
    widget_config_errors,
    widget_default_config,
    widget_values,
)
from streams.access import stream_readable_directly
from streams.models import Stream

# Version 2 carries each widget's further series; version 1 files still import.
EXPORT_VERSION = 2
IMPORT_VERSIONS = (1, 2)
GRID_COLUMNS = 12


def dashboard_create(*, owner: Any, title: str) -> Dashboard:
    last = Dashboard.objects.filter(owner=owner).aggregate(last=Max("position"))["last"]
    return Dashboard.objects.create(
        owner=owner, title=title.strip() or "Untitled", position=(last or 0) + 1
    )


def dashboard_rename(*, dashboard: Dashboard, title: str) -> None:
    dashboard.title = title.strip() or dashboard.title
    dashboard.save(update_fields=["title", "updated"])


@transaction.atomic
def dashboard_duplicate(
    *, dashboard: Dashboard, owner: Any
) -> tuple[Dashboard, list[Widget], list[Series]]:
    """Copy a dashboard for `owner`: the widgets and series of streams they read directly.

    Return the copy, the widgets left out and the series left out (a shared
    stream is not the new owner's to show, let alone to share again).
    """
    copy = dashboard_create(owner=owner, title=f"Copy of {dashboard.title}"[:120])
    widgets = list(dashboard.widgets.select_related("stream"))
    kept = [w for w in widgets if stream_readable_directly(w.stream, owner)]
    series_left_out: list[Series] = []
    for widget in kept:
        new = Widget.objects.create(
            dashboard=copy, stream_id=widget.stream_id, **widget_values(widget)
        )
        series, left_out = series_readable(widget_series(widget), owner)
        series_replace(widget=new, series=series)
        series_left_out += left_out
    return copy, [w for w in widgets if w not in kept], series_left_out


def dashboard_delete(*, dashboard: Dashboard) -> None:
    dashboard.delete()


@transaction.atomic
def dashboard_reorder(*, owner: Any, dashboard_ids: list[int]) -> None:
    """Put the owner's dashboards in the given order; ids not theirs are ignored."""
    owned = {d.pk: d for d in Dashboard.objects.filter(owner=owner, pk__in=dashboard_ids)}
    for position, dashboard_id in enumerate(dashboard_ids, 1):
        dashboard = owned.get(dashboard_id)
        if dashboard is not None:
            dashboard.position = position
    Dashboard.objects.bulk_update(owned.values(), ["position"])


def first_free_place(
    taken: list[tuple[int, int, int, int]], width: int, height: int
) -> tuple[int, int]:
    """Return the first (x, y), in reading order, where a `width` × `height` tile fits.

    `taken` holds the board's tiles as (x, y, w, h): a new widget fills the room
    beside the last row before it starts a new one under everything.
    """
    width = max(1, min(GRID_COLUMNS, width))
    bottom = max((y + h for _, y, _, h in taken), default=0)
    for y in range(bottom + 1):
        for x in range(GRID_COLUMNS - width + 1):
            if not any(
                x < tx + tw and tx < x + width and y < ty + th and ty < y + height
                for tx, ty, tw, th in taken
            ):
                return x, y
    return 0, bottom


def widget_save(
    *,
    dashboard: Dashboard,
    user: Any,
    kind: str,
    stream: Stream,
    title: str = "",
    config: dict[str, Any] | None = None,
    widget: Widget | None = None,
    size: tuple[int, int] | None = None,
    series: list[Series] | None = None,
) -> Widget:
    """Create or change a widget; raise ValidationError naming each bad field.

    `series`: its further series (None leaves a saved widget's as they are).
    """
    if not stream_readable_directly(stream, user):
        raise ValidationError(
            {"stream": f"{stream.slug} is not yours to show: use your own or a public stream."}
        )
    config = widget_default_config(kind, stream) if config is None else config
    errors = widget_config_errors(kind, config, stream)
    if errors:
        raise ValidationError(errors)
    series_check(kind=kind, series=series or [], user=user)
    if widget is None:
        width, height = size or KINDS[kind].size
        taken = list(dashboard.widgets.values_list("x", "y", "w", "h"))
        x, y = first_free_place(taken, width, height)
        widget = Widget(dashboard=dashboard, x=x, y=y, w=width, h=height)
    widget.kind, widget.stream, widget.title, widget.config = (
        kind,
        stream,
        title.strip()[:120],
        config,
    )
    widget.save()
    if series is not None:
        series_replace(widget=widget, series=series)
    return widget


def layout_save(*, dashboard: Dashboard, layout: list[dict[str, int]]) -> None:
    """Store grid positions `[{"id", "x", "y", "w", "h"}]` of the dashboard's widgets."""
    widgets = {w.pk: w for w in dashboard.widgets.all()}
    for item in layout:
        widget = widgets.get(item.get("id", -1))
        if widget is None:
            continue
        widget.x = max(0, min(int(item.get("x", widget.x)), GRID_COLUMNS - 1))
        widget.w = max(1, min(int(item.get("w", widget.w)), GRID_COLUMNS - widget.x))
        widget.y = max(0, min(int(item.get("y", widget.y)), 1000))
        widget.h = max(1, min(int(item.get("h", widget.h)), 24))
    Widget.objects.bulk_update(widgets.values(), LAYOUT_FIELDS)


def share_add(*, dashboard: Dashboard, user: Any) -> DashboardShare:
    if user.pk == dashboard.owner_id:
        raise ValidationError({"username": "The owner already sees their dashboard."})
    share, _ = DashboardShare.objects.get_or_create(dashboard=dashboard, user=user)
    return share


def share_remove(*, dashboard: Dashboard, user_id: int) -> None:
    """End a user's access; their open pages lose the streams they no longer may see at once."""
    DashboardShare.objects.filter(dashboard=dashboard, user_id=user_id).delete()


def link_create(*, dashboard: Dashboard) -> str:
    dashboard.link_token = Dashboard.new_link_token()
    dashboard.save(update_fields=["link_token", "updated"])
    return dashboard.link_token


def link_revoke(*, dashboard: Dashboard) -> None:
    """Revoke the secret link; sockets opened through it are closed at once."""
    dashboard.link_token = None
    dashboard.save(update_fields=["link_token", "updated"])


def dashboard_export(dashboard: Dashboard) -> dict[str, Any]:
    return {
        "pulseboard_dashboard": EXPORT_VERSION,
        "title": dashboard.title,
        "widgets": [
            widget_values(w)
            | {"stream": w.stream.slug, "series": [item.as_json() for item in widget_series(w)]}
            for w in dashboard.widgets.select_related("stream")
        ],
    }


@transaction.atomic
def dashboard_import(*, owner: Any, data: Any) -> tuple[Dashboard, list[Series]]:
    """Create a dashboard from an export; raise ValidationError, creating nothing, if it is bad.

    Return it and the series left out: those of streams `owner` does not read directly.
    """
    if not isinstance(data, dict) or data.get("pulseboard_dashboard") not in IMPORT_VERSIONS:
        raise ValidationError("This is not a Pulseboard dashboard export (version 1 or 2).")
    widgets = data.get("widgets")
    if not isinstance(widgets, list):
        raise ValidationError("`widgets` must be a list.")
    dashboard = dashboard_create(owner=owner, title=str(data.get("title", "Imported"))[:120])
    series_left_out: list[Series] = []
    for index, item in enumerate(widgets):
        if not isinstance(item, dict):
            raise ValidationError(f"widgets[{index}] must be an object.")
        stream = Stream.objects.filter(slug=item.get("stream")).first()
        if stream is None:
            raise ValidationError(f"widgets[{index}]: there is no stream {item.get('stream')!r}.")
        found = series_from_json(item.get("series"), where=f"widgets[{index}]")
        series, left_out = series_readable(found, owner)
        series_left_out += left_out
        try:
            widget = widget_save(
                dashboard=dashboard,
                user=owner,
                kind=str(item.get("kind")),
                stream=stream,
                title=str(item.get("title", "")),
                config=item.get("config", {}),
                series=series,
            )
        except ValidationError as error:
            raise ValidationError(f"widgets[{index}]: {'; '.join(error.messages)}") from None
        layout_save(
            dashboard=dashboard,
            layout=[{**{k: item.get(k, 0) for k in LAYOUT_FIELDS}, "id": widget.pk}],
        )
    return dashboard, series_left_out


def widget_delete(*, widget: Widget) -> None:
    """Remove a widget; viewers of the dashboard lose the streams only it showed."""
    widget.delete()
