"""The alerts page: a user's rules, recent events, contact points and delivery log.

Also the page an address's reader opens from a confirmation link (no login needed:
the link itself shows they read the address).
"""

from __future__ import annotations

from copy import copy
from typing import Any

from asgiref.sync import async_to_sync
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from alerts import services
from alerts.confirmation import (
    confirmation_queue,
    confirmation_read,
    contact_confirm,
    manual_send_wait,
)
from alerts.delivery import contact_send_test
from alerts.forms import AlertRuleForm, ContactPointForm
from alerts.models import AlertRule, ContactKind, ContactPoint
from alerts.notices import TEST_REASON
from alerts.selectors import alert_events_for, alert_rules_of, contacts_of, deliveries_of
from streams.access import streams_readable_by
from streams.clock import now_ms
from streams.messages import AlertFrame, user_alert_message, user_group
from streams.publishing import send_all


def is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


# -- rules ----------------------------------------------------------------------------


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
        "events": alert_events_for(request.user),
        "contacts": contacts_of(request.user),
        "deliveries": deliveries_of(request.user),
        "contact_form": ContactPointForm(initial={"enabled": True, "kind": "webhook"}),
        "contact_errors": {},
    }


def rule_form(request: HttpRequest, rule: AlertRule | None, data: Any = None) -> AlertRuleForm:
    """Return the form of a rule (a new one: the model's defaults) with `data` if posted.

    The form works on a copy: the page goes on naming the rule as it is stored.
    """
    return AlertRuleForm(
        data,
        instance=copy(rule) if rule is not None else AlertRule(owner=request.user),
        streams=readable_streams(request, rule),
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
    context = alerts_context(request) | rule_form_context(rule_form(request, None), None, None)
    return render(request, "alerts/alerts.html", context)


def save_rule(request: HttpRequest, rule: AlertRule | None) -> HttpResponse:
    form = rule_form(request, rule, request.POST)
    if "_refresh" in request.POST:
        return render(request, "alerts/_alert_form.html", rule_form_context(form, rule, None))
    errors: dict[str, str] = {}
    if form.is_valid():
        try:
            saved = services.alert_rule_save(
                rule=form.instance, contacts=form.cleaned_data["contacts"]
            )
        except ValidationError as error:
            errors = {key: " ".join(messages) for key, messages in error.message_dict.items()}
        else:
            if not is_htmx(request):
                return redirect("alerts")
            context = alerts_context(request) | rule_form_context(
                rule_form(request, None), None, None
            )
            context["notice"] = f"Saved “{saved.name}”."
            return render(request, "alerts/_alert_saved.html", context)
    else:
        errors = {key: " ".join(messages) for key, messages in form.errors.items()}
    context = rule_form_context(form, rule, errors)
    if not is_htmx(request):
        return render(request, "alerts/alerts.html", alerts_context(request) | context, status=422)
    return render(request, "alerts/_alert_form.html", context, status=422)


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
    context = rule_form_context(rule_form(request, rule), rule, None)
    if is_htmx(request):
        return render(request, "alerts/_alert_form.html", context)
    return render(request, "alerts/alerts.html", alerts_context(request) | context)


@login_required
@require_POST
def alert_delete(request: HttpRequest, rule_id: int) -> HttpResponse:
    rule = get_object_or_404(AlertRule, pk=rule_id, owner=request.user)
    services.alert_rule_delete(rule=rule)
    if not is_htmx(request):
        return redirect("alerts")
    return render(request, "alerts/_alert_rules.html", alerts_context(request))


# -- contact points -------------------------------------------------------------------


def contacts_panel(
    request: HttpRequest,
    *,
    form: ContactPointForm | None = None,
    contact: ContactPoint | None = None,
    errors: dict[str, str] | None = None,
    notice: str = "",
    refused: bool = False,
    status: int = 200,
) -> HttpResponse:
    """Answer with the contact points panel (list and form), or the whole page without htmx."""
    context = {
        "contacts": contacts_of(request.user),
        "contact_form": form or ContactPointForm(initial={"enabled": True, "kind": "webhook"}),
        "contact": contact,
        "contact_errors": errors or {},
        "contact_notice": notice,
        "notice_refused": refused,
    }
    if not is_htmx(request):
        if status == 200:
            return redirect("alerts")
        page = alerts_context(request) | rule_form_context(rule_form(request, None), None, None)
        return render(request, "alerts/alerts.html", page | context, status=status)
    return render(request, "alerts/_contacts.html", context, status=status)


def saved_notice(contact: ContactPoint, address_before: str) -> str:
    """Return what saving said: for a new address, whether its confirmation link went out."""
    notice = f"Saved “{contact.name}”."
    if contact.confirmed or contact.email == address_before:
        return notice
    if contact.confirm_sent is None:
        return (
            f"{notice} No confirmation link was sent to {contact.email}: you have asked for"
            " the most sends an hour allows. Resend the link later."
        )
    return f"{notice} A confirmation link is on its way to {contact.email}; mail goes there once it is opened."


def save_contact(request: HttpRequest, contact: ContactPoint | None) -> HttpResponse:
    address_before = contact.email if contact is not None else ""
    form = ContactPointForm(request.POST)
    if not form.is_valid():
        errors = {key: " ".join(messages) for key, messages in form.errors.items()}
        return contacts_panel(request, form=form, contact=contact, errors=errors, status=422)
    data = form.cleaned_data
    try:
        saved = services.contact_save(
            owner=request.user,
            name=data["name"],
            kind=data["kind"],
            url=data["url"],
            email=data["email"],
            enabled=data["enabled"],
            contact=contact,
        )
    except ValidationError as error:
        errors = {key: " ".join(messages) for key, messages in error.message_dict.items()}
        return contacts_panel(request, form=form, contact=contact, errors=errors, status=422)
    notice = saved_notice(saved, address_before)
    refused = saved.kind == ContactKind.EMAIL and not saved.confirmed and saved.confirm_sent is None
    return contacts_panel(request, notice=notice, refused=refused)


def owned_contact(request: HttpRequest, contact_id: int) -> ContactPoint:
    return get_object_or_404(ContactPoint, pk=contact_id, owner=request.user)


@login_required
@require_POST
def contact_new(request: HttpRequest) -> HttpResponse:
    return save_contact(request, None)


@login_required
@require_http_methods(["GET", "POST"])
def contact_edit(request: HttpRequest, contact_id: int) -> HttpResponse:
    contact = owned_contact(request, contact_id)
    if request.method == "POST":
        return save_contact(request, contact)
    return contacts_panel(request, form=ContactPointForm.for_contact(contact), contact=contact)


@login_required
@require_POST
def contact_remove(request: HttpRequest, contact_id: int) -> HttpResponse:
    contact = owned_contact(request, contact_id)
    services.contact_delete(contact=contact)
    return contacts_panel(request, notice=f"Deleted “{contact.name}”.")


@login_required
@require_POST
def contact_secret(request: HttpRequest, contact_id: int) -> HttpResponse:
    contact = services.contact_new_secret(contact=owned_contact(request, contact_id))
    return contacts_panel(request, notice=f"“{contact.name}” signs with a new secret from now on.")


def browser_test_frame(contact: ContactPoint) -> AlertFrame:
    return {
        "type": "alert",
        "state": "test",
        "rule": None,
        "event": None,
        "name": contact.name,
        "stream": "",
        "field": "",
        "value": None,
        "t": now_ms(),
        "message": f"A test notice to {contact.name}: it works.",
        "reason": TEST_REASON,
        "notify": True,
    }


def wait_words(seconds: int) -> str:
    minutes = -(-seconds // 60)
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


def test_refusal(request: HttpRequest, contact: ContactPoint) -> str:
    """Return why no test may go to the contact now ("" when one may), counting one that may."""
    if not contact.confirmed:
        return (
            f"No test sent: {contact.email} is not confirmed yet. Open the link sent there,"
            " or resend it from the contact point."
        )
    wait = manual_send_wait(request.user, contact, "test")
    if wait:
        limit = settings.PULSEBOARD_TEST_SENDS_PER_HOUR
        return (
            f"No test sent: you have sent {limit} tests and confirmation links in the last hour,"
            f" the most allowed. Try again in {wait_words(wait)}."
        )
    return ""


def log_answer(request: HttpRequest, notice: str, status: int = 200) -> HttpResponse:
    if not is_htmx(request):
        return redirect("alerts") if status == 200 else HttpResponse(notice, status=status)
    return render(
        request,
        "alerts/_deliveries.html",
        {
            "deliveries": deliveries_of(request.user),
            "delivery_notice": notice,
            "notice_refused": status != 200,
        },
        status=status,
    )


@login_required
@require_POST
def contact_test(request: HttpRequest, contact_id: int) -> HttpResponse:
    contact = owned_contact(request, contact_id)
    refusal = test_refusal(request, contact)
    if refusal:
        return log_answer(request, refusal, status=429 if contact.confirmed else 409)
    if contact.kind == ContactKind.BROWSER:
        frame = browser_test_frame(contact)
        async_to_sync(send_all)([(user_group(request.user.pk), user_alert_message(frame))])
        notice = f"Sent a test to your open pages ({contact.name})."
    else:
        contact_send_test(contact=contact)
        notice = f"Queued a test to {contact.target}; its line is in the delivery log."
    return log_answer(request, notice)


@login_required
@require_POST
def contact_resend(request: HttpRequest, contact_id: int) -> HttpResponse:
    contact = owned_contact(request, contact_id)
    if contact.kind != ContactKind.EMAIL or contact.confirmed:
        return contacts_panel(request, notice=f"“{contact.name}” needs no confirmation.")
    if not confirmation_queue(contact=contact):
        notice = (
            f"No link sent to {contact.email}: you have asked for the most sends an hour"
            " allows. Try again later."
        )
        return contacts_panel(request, notice=notice, refused=True)
    return contacts_panel(
        request, notice=f"A new confirmation link is on its way to {contact.email}."
    )


@require_http_methods(["GET", "POST"])
def contact_confirm_page(request: HttpRequest, token: str) -> HttpResponse:
    contact, problem = confirmation_read(token)
    context = {"contact": contact, "problem": problem, "done": False}
    if contact is None:
        return render(request, "alerts/confirm.html", context, status=404)
    if request.method == "POST" or contact.confirmed:
        if not contact.confirmed:
            contact_confirm(contact=contact)
        context["done"] = True
    return render(request, "alerts/confirm.html", context)


@login_required
@require_GET
def deliveries_log(request: HttpRequest) -> HttpResponse:
    return render(request, "alerts/_deliveries.html", {"deliveries": deliveries_of(request.user)})
