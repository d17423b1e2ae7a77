"""Alert rules of the signed-in user, their recent events, contact points and deliveries."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from dashboards import services
from dashboards.contacts import contacts_of, deliveries_of
from dashboards.forms_alerts import AlertRuleForm, ContactPointForm
from dashboards.models import AlertRule
from dashboards.selectors import alert_events_for, alert_rules_of
from dashboards.views import is_htmx
from streams.access import streams_readable_by

RECENT_EVENTS = 50
NEW_RULE = {
    "enabled": True,
    "duration_seconds": 0,
    "no_data_seconds": 0,
    "min_interval_seconds": 300,
}


def rule_form_context(
    form: AlertRuleForm, rule: AlertRule | None, errors: dict[str, str] | None
) -> dict[str, Any]:
    return {
        "form": form,
        "rule": rule,
        "errors": errors or {},
        "field_choices": form.field_choices(),
        "chosen_contacts": form.chosen_contacts(),
    }


def alerts_context(request: HttpRequest) -> dict[str, Any]:
    return {
        "rules": alert_rules_of(request.user).prefetch_related("contacts"),
        "events": alert_events_for(request.user, RECENT_EVENTS),
        "contacts": contacts_of(request.user),
        "deliveries": deliveries_of(request.user),
        "contact_form": ContactPointForm(initial={"enabled": True, "kind": "webhook"}),
        "contact_errors": {},
    }


def new_rule_form(request: HttpRequest) -> AlertRuleForm:
    return AlertRuleForm(
        initial=NEW_RULE,
        streams=readable_streams(request),
        contacts=list(contacts_of(request.user)),
    )


def readable_streams(request: HttpRequest, rule: AlertRule | None = None) -> list[Any]:
    streams = list(streams_readable_by(request.user))
    if rule is not None and rule.stream not in streams:
        streams.append(rule.stream)
    return streams


@login_required
@require_GET
def alerts_page(request: HttpRequest) -> HttpResponse:
    context = alerts_context(request) | rule_form_context(new_rule_form(request), None, None)
    return render(request, "dashboards/alerts.html", context)


def save_rule(request: HttpRequest, rule: AlertRule | None) -> HttpResponse:
    form = AlertRuleForm(
        request.POST,
        streams=readable_streams(request, rule),
        contacts=list(contacts_of(request.user)),
    )
    if "_refresh" in request.POST:
        return render(request, "dashboards/_alert_form.html", rule_form_context(form, rule, None))
    errors: dict[str, str] = {}
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.alert_rule_save(
                owner=request.user,
                name=data["name"],
                stream=form.streams[data["stream"]],
                field=data["field"],
                condition=data["condition"],
                threshold=data["threshold"],
                duration_seconds=data["duration_seconds"],
                enabled=data["enabled"],
                rule=rule,
                **form.rule_settings(),
            )
        except ValidationError as error:
            errors = {key: " ".join(messages) for key, messages in error.message_dict.items()}
        else:
            if not is_htmx(request):
                return redirect("alerts")
            context = alerts_context(request) | rule_form_context(
                new_rule_form(request), None, None
            )
            context["notice"] = f"Saved “{data['name']}”."
            return render(request, "dashboards/_alert_saved.html", context)
    else:
        errors = {key: " ".join(messages) for key, messages in form.errors.items()}
    context = rule_form_context(form, rule, errors)
    if not is_htmx(request):
        return render(
            request, "dashboards/alerts.html", alerts_context(request) | context, status=422
        )
    return render(request, "dashboards/_alert_form.html", context, status=422)


@login_required
@require_POST
def alert_new(request: HttpRequest) -> HttpResponse:
    return save_rule(request, None)


@login_required
@require_http_methods(["GET", "POST"])
def alert_edit(request: HttpRequest, rule_id: int) -> HttpResponse:
    rule = get_object_or_404(
        AlertRule.objects.select_related("stream"), pk=rule_id, owner=request.user
    )
    if request.method == "POST":
        return save_rule(request, rule)
    form = AlertRuleForm.for_rule(
        rule, streams=readable_streams(request, rule), contacts=list(contacts_of(request.user))
    )
    context = rule_form_context(form, rule, None)
    if is_htmx(request):
        return render(request, "dashboards/_alert_form.html", context)
    return render(request, "dashboards/alerts.html", alerts_context(request) | context)


@login_required
@require_POST
def alert_delete(request: HttpRequest, rule_id: int) -> HttpResponse:
    rule = get_object_or_404(AlertRule, pk=rule_id, owner=request.user)
    services.alert_rule_delete(rule=rule)
    if not is_htmx(request):
        return redirect("alerts")
    return render(request, "dashboards/_alert_rules.html", alerts_context(request))
