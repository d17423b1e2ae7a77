"""Contact points of the signed-in user: add, edit, delete, send a test; the delivery log.

Also the page an address's reader opens from a confirmation link (no login needed:
the link itself shows they read the address).
"""

from __future__ import annotations

from asgiref.sync import async_to_sync
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from dashboards.confirmation import (
    confirmation_queue,
    confirmation_read,
    contact_confirm,
    manual_send_wait,
)
from dashboards.contacts import (
    contact_delete,
    contact_new_secret,
    contact_save,
    contacts_of,
    deliveries_of,
)
from dashboards.delivery import contact_send_test
from dashboards.forms_alerts import ContactPointForm
from dashboards.models import ContactKind, ContactPoint
from dashboards.views import is_htmx
from dashboards.views_alerts import alerts_context, new_rule_form, rule_form_context
from streams.clock import now_ms
from streams.contract import AlertFrame, send_all, user_alert_message, user_group


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
        page = alerts_context(request) | rule_form_context(new_rule_form(request), None, None)
        return render(request, "dashboards/alerts.html", page | context, status=status)
    return render(request, "dashboards/_contacts.html", context, status=status)


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
        saved = contact_save(
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
    contact_delete(contact=contact)
    return contacts_panel(request, notice=f"Deleted “{contact.name}”.")


@login_required
@require_POST
def contact_secret(request: HttpRequest, contact_id: int) -> HttpResponse:
    contact = contact_new_secret(contact=owned_contact(request, contact_id))
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
        "reason": "“Send test” was pressed on the alerts page",
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
        "dashboards/_deliveries.html",
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
        return render(request, "dashboards/confirm.html", context, status=404)
    if request.method == "POST" or contact.confirmed:
        if not contact.confirmed:
            contact_confirm(contact=contact)
        context["done"] = True
    return render(request, "dashboards/confirm.html", context)


@login_required
@require_GET
def deliveries_log(request: HttpRequest) -> HttpResponse:
    return render(
        request, "dashboards/_deliveries.html", {"deliveries": deliveries_of(request.user)}
    )
