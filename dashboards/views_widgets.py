"""The widget editor: add, change and remove the widgets of a dashboard without a page reload."""

from __future__ import annotations

import json

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from dashboards import services
from dashboards.forms import WidgetForm, error_place
from dashboards.forms_series import editor_context
from dashboards.models import Dashboard, Widget
from dashboards.series import kind_takes_series, widget_series
from dashboards.views import dashboard_for, is_htmx, widget_json
from streams.access import streams_readable_directly_by
from streams.describe import stream_page_json


def editor_response(
    request: HttpRequest,
    dashboard: Dashboard,
    form: WidgetForm,
    *,
    widget: Widget | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> HttpResponse:
    context = {
        "dashboard": dashboard,
        "form": form,
        "widget": widget,
        "errors": errors or {},
        "series": form.series_rows(),
        "selected": form.selected_fields(),
        **editor_context(form),
    }
    return render(request, "dashboards/_editor.html", context, status=status)


def form_errors(form: WidgetForm) -> dict[str, str]:
    """Return the form's typing errors keyed by where the editor shows them."""
    errors: dict[str, str] = {}
    for key, messages in form.errors.items():
        errors.setdefault(error_place(key), " ".join(messages))
    return errors


def saved_response(request: HttpRequest, dashboard: Dashboard, widget: Widget) -> HttpResponse:
    """Tell the page what changed: it draws the widget itself, so nothing reloads."""
    series = widget_series(widget)
    streams = list({s.pk: s for s in [widget.stream] + [item.stream for item in series]}.values())
    payload = {
        "widget-saved": {
            "widget": widget_json(widget, series),
            "stream": stream_page_json(widget.stream, request.user),
            "streams": [stream_page_json(stream, request.user) for stream in streams],
        },
        "drawer-close": True,
    }
    response = render(request, "dashboards/_editor_saved.html", {"widget": widget})
    response["HX-Trigger"] = json.dumps(payload)
    return response


def save_widget(request: HttpRequest, dashboard: Dashboard, widget: Widget | None) -> HttpResponse:
    streams = list(streams_readable_directly_by(request.user))
    form = WidgetForm(request.POST, streams=streams)
    # A change of kind or stream redraws the editor with the inputs that kind uses.
    if "_refresh" in request.POST:
        return editor_response(request, dashboard, form, widget=widget)
    if not form.is_valid():
        return editor_response(
            request, dashboard, form, widget=widget, errors=form_errors(form), status=422
        )
    stream = form.streams[form.cleaned_data["stream"]]
    try:
        widget = services.widget_save(
            dashboard=dashboard,
            user=request.user,
            kind=form.cleaned_data["kind"],
            stream=stream,
            title=form.cleaned_data["title"],
            config=form.config,
            widget=widget,
            series=form.series if kind_takes_series(form.cleaned_data["kind"]) else [],
        )
    except ValidationError as error:
        errors = service_errors(error)
        return editor_response(request, dashboard, form, widget=widget, errors=errors, status=422)
    return saved_response(request, dashboard, widget)


def service_errors(error: ValidationError) -> dict[str, str]:
    if not hasattr(error, "error_dict"):
        return {"general": " ".join(error.messages)}
    errors: dict[str, str] = {}
    for key, messages in error.message_dict.items():
        place = error_place(key)
        errors[place] = (
            f"{errors[place]} {' '.join(messages)}" if place in errors else " ".join(messages)
        )
    return errors


@login_required
@require_http_methods(["GET", "POST"])
def widget_new(request: HttpRequest, dashboard_id: int) -> HttpResponse:
    dashboard = dashboard_for(request, dashboard_id, edit=True)
    if request.method == "POST":
        return save_widget(request, dashboard, None)
    streams = list(streams_readable_directly_by(request.user))
    if not streams:
        return render(request, "dashboards/_editor_no_streams.html", {"dashboard": dashboard})
    form = WidgetForm.for_new(stream=streams[0], streams=streams)
    return editor_response(request, dashboard, form)


@login_required
@require_http_methods(["GET", "POST"])
def widget_edit(request: HttpRequest, dashboard_id: int, widget_id: int) -> HttpResponse:
    dashboard = dashboard_for(request, dashboard_id, edit=True)
    widget = get_object_or_404(
        Widget.objects.select_related("stream"), pk=widget_id, dashboard=dashboard
    )
    if request.method == "POST":
        return save_widget(request, dashboard, widget)
    streams = list(streams_readable_directly_by(request.user))
    if widget.stream not in streams:
        streams.append(widget.stream)
    form = WidgetForm.for_widget(widget, streams=streams)
    return editor_response(request, dashboard, form, widget=widget)


@login_required
@require_POST
def widget_delete(request: HttpRequest, dashboard_id: int, widget_id: int) -> HttpResponse:
    dashboard = dashboard_for(request, dashboard_id, edit=True)
    widget = get_object_or_404(Widget, pk=widget_id, dashboard=dashboard)
    services.widget_delete(widget=widget)
    if not is_htmx(request):
        return redirect("dashboard", dashboard.pk)
    response = HttpResponse()
    response["HX-Trigger"] = json.dumps({"widget-deleted": {"id": widget_id}, "drawer-close": True})
    return response
