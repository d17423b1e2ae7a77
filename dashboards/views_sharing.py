"""The sharing panel: named read-only users and the secret link, for the owner only."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from dashboards import services
from dashboards.forms import ShareForm
from dashboards.models import Dashboard
from dashboards.selectors import dashboard_shares
from dashboards.views import dashboard_for, is_htmx


def panel(
    request: HttpRequest,
    dashboard: Dashboard,
    *,
    form: ShareForm | None = None,
    error: str | None = None,
    notice: str | None = None,
    status: int = 200,
) -> HttpResponse:
    """Render the panel, or go back to the dashboard for a browser without htmx."""
    if not is_htmx(request) and request.method == "POST" and error is None:
        return redirect("dashboard", dashboard.pk)
    link = None
    if dashboard.link_token:
        link = request.build_absolute_uri(reverse("link-page", args=[dashboard.link_token]))
    context = {
        "dashboard": dashboard,
        "shares": dashboard_shares(dashboard),
        "form": form or ShareForm(),
        "error": error,
        "notice": notice,
        "link": link,
    }
    return render(request, "dashboards/_sharing.html", context, status=status)


@login_required
@require_GET
def sharing(request: HttpRequest, dashboard_id: int) -> HttpResponse:
    return panel(request, dashboard_for(request, dashboard_id, edit=True))


@login_required
@require_POST
def share_add(request: HttpRequest, dashboard_id: int) -> HttpResponse:
    dashboard = dashboard_for(request, dashboard_id, edit=True)
    form = ShareForm(request.POST)
    if not form.is_valid():
        return panel(request, dashboard, form=form, error="Enter a username.", status=422)
    username = form.cleaned_data["username"].strip()
    user = get_user_model().objects.filter(username__iexact=username, is_active=True).first()
    if user is None:
        error = f"There is no user called “{username}”."
        return panel(request, dashboard, form=form, error=error, status=422)
    try:
        services.share_add(dashboard=dashboard, user=user)
    except ValidationError as problem:
        return panel(request, dashboard, form=form, error=" ".join(problem.messages), status=422)
    return panel(request, dashboard, notice=f"{user.get_username()} can now see this dashboard.")


@login_required
@require_POST
def share_remove(request: HttpRequest, dashboard_id: int, user_id: int) -> HttpResponse:
    dashboard = dashboard_for(request, dashboard_id, edit=True)
    services.share_remove(dashboard=dashboard, user_id=user_id)
    return panel(request, dashboard, notice="Access removed.")


@login_required
@require_POST
def link_create(request: HttpRequest, dashboard_id: int) -> HttpResponse:
    """Create the secret link, or replace it: the old one stops working at once."""
    dashboard = dashboard_for(request, dashboard_id, edit=True)
    replaced = dashboard.link_token is not None
    if replaced:
        services.link_revoke(dashboard=dashboard)
    services.link_create(dashboard=dashboard)
    notice = "New link created; the old one no longer works." if replaced else "Link created."
    return panel(request, dashboard, notice=notice)


@login_required
@require_POST
def link_revoke(request: HttpRequest, dashboard_id: int) -> HttpResponse:
    dashboard = dashboard_for(request, dashboard_id, edit=True)
    services.link_revoke(dashboard=dashboard)
    return panel(request, dashboard, notice="Link revoked; pages opened with it have closed.")
