"""The dashboard pages and the dashboard life cycle: create, rename, reorder, layout, import."""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.text import slugify
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from alerts.selectors import alert_events_for
from dashboards import services
from dashboards.forms import ImportForm, TitleForm
from dashboards.kinds import kinds_page_json
from dashboards.models import Dashboard, Widget
from dashboards.selectors import (
    dashboard_by_link,
    dashboard_can_edit,
    dashboard_can_view,
    dashboard_widgets,
    dashboards_owned_by,
    dashboards_shared_with,
)
from dashboards.series import Series, series_readable, widget_series
from dashboards.widgets import widget_values
from streams.access import stream_for_viewer
from streams.describe import stream_page_json

RECENT_EVENTS = 20
MAX_REORDER = 1000
MAX_ID = 2**63 - 1
MAX_ID_DIGITS = len(str(MAX_ID))


def is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def dashboard_for(request: HttpRequest, dashboard_id: int, *, edit: bool = False) -> Dashboard:
    """Return the dashboard if the user may see it (404 otherwise), and may edit it when asked (403)."""
    dashboard = Dashboard.objects.select_related("owner").filter(pk=dashboard_id).first()
    if dashboard is None or not dashboard_can_view(dashboard, request.user):
        raise Http404("No such dashboard.")
    if edit and not dashboard_can_edit(dashboard, request.user):
        raise PermissionDenied("Only the owner edits a dashboard.")
    return dashboard


def widget_json(widget: Widget, series: list[Series] | None = None) -> dict[str, Any]:
    """Return the widget as the page draws it, with the further `series` this viewer may read."""
    return {
        "id": widget.pk,
        **widget_values(widget),
        "kind_label": widget.kind_label,
        "stream": widget.stream.slug,
        "series": [item.as_json() for item in series or []],
    }


def left_out_warning(request: HttpRequest, series: list[Series]) -> None:
    """Say which series were left out because their streams are not the user's to show."""
    if series:
        names = ", ".join(sorted({item.label for item in series}))
        messages.warning(
            request,
            f"Left out {len(series)} series of streams that are not yours to show: {names}.",
        )


def sidebar_context(user: Any, current: Dashboard | None) -> dict[str, Any]:
    """Return the user's dashboards, each with the order that moves it up or down one place."""
    owned = list(dashboards_owned_by(user))
    ids = [dashboard.pk for dashboard in owned]
    items = []
    for index, dashboard in enumerate(owned):
        up = down = None
        if index > 0:
            order = ids.copy()
            order[index - 1], order[index] = order[index], order[index - 1]
            up = ",".join(map(str, order))
        if index < len(ids) - 1:
            order = ids.copy()
            order[index + 1], order[index] = order[index], order[index + 1]
            down = ",".join(map(str, order))
        items.append({"dashboard": dashboard, "up": up, "down": down})
    return {
        "owned_items": items,
        "shared_dashboards": dashboards_shared_with(user),
        "current": current,
    }


def board_context(
    request: HttpRequest, dashboard: Dashboard, *, link_token: str | None = None
) -> dict[str, Any]:
    """Return the context of the dashboard page, for a user or for a link holder."""
    user = request.user
    can_edit = link_token is None and dashboard_can_edit(dashboard, user)
    link = dashboard.pk if link_token is not None else None

    # A viewer sees the widgets and series of streams they may read; the owner sees all to fix them.
    def may_read(stream: Any, viewer: Any) -> bool:
        return can_edit or stream_for_viewer(stream.slug, viewer, link)[1]

    widgets = [widget for widget in dashboard_widgets(dashboard) if may_read(widget.stream, user)]
    series = {w.pk: series_readable(widget_series(w), user, keep=may_read)[0] for w in widgets}
    shown = [w.stream for w in widgets] + [item.stream for w in widgets for item in series[w.pk]]
    streams = {stream.slug: stream_page_json(stream, user) for stream in shown}
    signed_in = link_token is None and user.is_authenticated
    page = {
        "dashboard": dashboard.pk,
        "title": dashboard.title,
        "can_edit": can_edit,
        "share": link_token,
        "history": signed_in,
        "alerts": signed_in,
        "max_backfill": settings.PULSEBOARD_MAX_BACKFILL,
        "widgets": [widget_json(widget, series[widget.pk]) for widget in widgets],
        "kinds": kinds_page_json(),
        "streams": streams,
        "urls": {
            "layout": reverse("dashboard-layout", args=[dashboard.pk]),
            "widget_new": reverse("widget-new", args=[dashboard.pk]),
            "widget_edit": reverse("widget-edit", args=[dashboard.pk, 0]),
            "widget_delete": reverse("widget-delete", args=[dashboard.pk, 0]),
        },
    }
    context: dict[str, Any] = {
        "dashboard": dashboard,
        "page": page,
        "can_edit": can_edit,
        "link_token": link_token,
        "signed_in": signed_in,
        "widget_count": len(widgets),
        "events": list(alert_events_for(user, RECENT_EVENTS)) if signed_in else [],
    }
    if signed_in:
        context |= sidebar_context(user, dashboard)
    return context


# -- pages ---------------------------------------------------------------------------


@login_required
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    """Open the user's first dashboard, or offer to create one when they have none."""
    first = dashboards_owned_by(request.user).first()
    if first is not None:
        return redirect("dashboard", first.pk)
    shared = dashboards_shared_with(request.user).first()
    if shared is not None:
        return redirect("dashboard", shared.pk)
    return render(request, "dashboards/empty.html", sidebar_context(request.user, None))


@login_required
@require_GET
def dashboard_page(request: HttpRequest, dashboard_id: int) -> HttpResponse:
    dashboard = dashboard_for(request, dashboard_id)
    return render(request, "dashboards/board.html", board_context(request, dashboard))


@require_GET
def link_page(request: HttpRequest, token: str) -> HttpResponse:
    """The read-only page of a secret link: no login, only the streams this dashboard shows."""
    # A NUL cannot be looked up (PostgreSQL refuses it in text): no such link.
    dashboard = None if "\x00" in token else dashboard_by_link(token)
    if dashboard is None:
        raise Http404("This link does not exist or was revoked.")
    context = board_context(request, dashboard, link_token=token)
    response = render(request, "dashboards/board.html", context)
    # The token is the only key: keep it out of other sites' Referer headers.
    response["Referrer-Policy"] = "no-referrer"
    return response


# -- life cycle ----------------------------------------------------------------------


def back_to(request: HttpRequest, dashboard: Dashboard | None) -> HttpResponse:
    if dashboard is None:
        return redirect("home")
    return redirect("dashboard", dashboard.pk)


@login_required
@require_POST
def dashboard_new(request: HttpRequest) -> HttpResponse:
    title = request.POST.get("title", "").strip()[:120] or "New dashboard"
    if "\x00" in title:
        return HttpResponse("`title` may not contain NUL characters.", status=400)
    dashboard = services.dashboard_create(owner=request.user, title=title)
    return redirect("dashboard", dashboard.pk)


@login_required
@require_http_methods(["GET", "POST"])
def dashboard_rename(request: HttpRequest, dashboard_id: int) -> HttpResponse:
    dashboard = dashboard_for(request, dashboard_id, edit=True)
    form = TitleForm(request.POST or None, initial={"title": dashboard.title})
    if request.method == "POST" and form.is_valid():
        services.dashboard_rename(dashboard=dashboard, title=form.cleaned_data["title"])
        if not is_htmx(request):
            return back_to(request, dashboard)
        context = sidebar_context(request.user, dashboard) | {"dashboard": dashboard}
        response = render(request, "dashboards/_renamed.html", context)
        response["HX-Trigger"] = json.dumps({"drawer-close": True})
        return response
    status = 400 if request.method == "POST" else 200
    template = "dashboards/_rename.html" if is_htmx(request) else "dashboards/rename.html"
    return render(request, template, {"form": form, "dashboard": dashboard}, status=status)


@login_required
@require_POST
def dashboard_duplicate(request: HttpRequest, dashboard_id: int) -> HttpResponse:
    """Copy a dashboard the user may see into their own list (shared ones too)."""
    dashboard = dashboard_for(request, dashboard_id)
    copy, left_out, series_left_out = services.dashboard_duplicate(
        dashboard=dashboard, owner=request.user
    )
    left_out_warning(request, series_left_out)
    if left_out:
        names = ", ".join(sorted({f"{w.title or w.kind} ({w.stream.slug})" for w in left_out}))
        messages.warning(
            request,
            f"Left out {len(left_out)} widget(s) of streams that are not yours to show: {names}.",
        )
    return redirect("dashboard", copy.pk)


@login_required
@require_http_methods(["GET", "POST"])
def dashboard_delete(request: HttpRequest, dashboard_id: int) -> HttpResponse:
    dashboard = dashboard_for(request, dashboard_id, edit=True)
    if request.method == "GET":
        context = {"dashboard": dashboard, "widget_count": dashboard.widgets.count()}
        return render(request, "dashboards/delete.html", context)
    services.dashboard_delete(dashboard=dashboard)
    if is_htmx(request):
        response = HttpResponse(status=204)
        response["HX-Redirect"] = reverse("home")
        return response
    return redirect("home")


def parse_dashboard_id(text: str, *, allow_zero: bool = False) -> int | None:
    """Return `text` as a dashboard id (a whole number a database key can hold), or None."""
    text = text.strip()
    if not text.isascii() or not text.isdigit() or len(text) > MAX_ID_DIGITS:
        return None
    number = int(text)
    return number if (number > 0 or allow_zero) and number <= MAX_ID else None


@login_required
@require_POST
def dashboard_reorder(request: HttpRequest) -> HttpResponse:
    """Put the user's dashboards in the posted order (`order`: ids separated by commas)."""
    parts = [part for part in request.POST.get("order", "").split(",") if part.strip()]
    ids = [parse_dashboard_id(part) for part in parts[: MAX_REORDER + 1]]
    if None in ids or len(ids) > MAX_REORDER:
        return HttpResponse(
            f"`order` must be at most {MAX_REORDER} dashboard ids separated by commas.",
            status=400,
        )
    current_id = parse_dashboard_id(request.POST.get("current") or "0", allow_zero=True)
    if current_id is None:
        return HttpResponse("`current` must be a dashboard id.", status=400)
    services.dashboard_reorder(owner=request.user, dashboard_ids=[i for i in ids if i])
    current = Dashboard.objects.filter(pk=current_id).first()
    if current is not None and not dashboard_can_view(current, request.user):
        current = None
    if is_htmx(request):
        return render(request, "dashboards/_sidebar.html", sidebar_context(request.user, current))
    return back_to(request, current)


@login_required
@require_POST
def dashboard_layout(request: HttpRequest, dashboard_id: int) -> HttpResponse:
    """Store the grid positions posted as JSON `[{id, x, y, w, h}]`."""
    dashboard = dashboard_for(request, dashboard_id, edit=True)
    try:
        layout = json.loads(request.body)
    except (ValueError, RecursionError):
        return JsonResponse({"error": "The body must be JSON: a list of objects."}, status=400)
    if not isinstance(layout, list) or not all(
        isinstance(item, dict)
        and all(
            isinstance(item.get(key), int) and not isinstance(item.get(key), bool)
            for key in ("id", "x", "y", "w", "h")
        )
        for item in layout
    ):
        return JsonResponse({"error": "Send a list of {id, x, y, w, h} whole numbers."}, status=400)
    services.layout_save(dashboard=dashboard, layout=layout)
    return HttpResponse(status=204)


# -- export and import ---------------------------------------------------------------


@login_required
@require_GET
def dashboard_export(request: HttpRequest, dashboard_id: int) -> HttpResponse:
    dashboard = dashboard_for(request, dashboard_id)
    body = json.dumps(services.dashboard_export(dashboard), indent=2, ensure_ascii=False)
    response = HttpResponse(body, content_type="application/json; charset=utf-8")
    filename = f"{slugify(dashboard.title) or 'dashboard'}.json"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@login_required
@require_http_methods(["GET", "POST"])
def dashboard_import(request: HttpRequest) -> HttpResponse:
    """Create a dashboard from an exported file; a bad file creates nothing and says why."""
    form = ImportForm(request.POST or None, request.FILES or None)
    error = None
    if request.method == "POST" and form.is_valid():
        try:
            dashboard, left_out = services.dashboard_import(owner=request.user, data=form.document)
        except ValidationError as problem:
            error = " ".join(problem.messages)
        else:
            left_out_warning(request, left_out)
            return redirect("dashboard", dashboard.pk)
    context = sidebar_context(request.user, None) | {"form": form, "error": error}
    status = 400 if request.method == "POST" else 200
    return render(request, "dashboards/import.html", context, status=status)
