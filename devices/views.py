"""The broker pages: a user's brokers with what their bridges saw, one broker's settings and routes."""

from __future__ import annotations

import datetime
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from devices import services
from devices.forms import BrokerForm, RouteForm
from devices.models import Broker


def moment(ms: int) -> datetime.datetime | None:
    """Return a stored UTC millisecond time as a datetime (None for never)."""
    return datetime.datetime.fromtimestamp(ms / 1000, datetime.UTC) if ms else None


def owned_broker(request: HttpRequest, broker_id: int) -> Broker:
    """Return the user's broker; anyone else's is a 404, as if it did not exist."""
    return get_object_or_404(Broker, pk=broker_id, owner=request.user)


def broker_context(broker: Broker) -> dict[str, Any]:
    return {
        "broker": broker,
        "last_error_at": moment(broker.last_error_ms),
        "last_message_at": moment(broker.last_message_ms),
        "bridges_here": settings.PULSEBOARD_MQTT_BRIDGES,
    }


@login_required
def brokers_page(request: HttpRequest) -> HttpResponse:
    brokers = [broker_context(broker) for broker in services.brokers_of(request.user)]
    return render(request, "devices/brokers.html", {"brokers": brokers})


@login_required
@require_http_methods(["GET", "POST"])
def broker_new(request: HttpRequest) -> HttpResponse:
    form = BrokerForm(request.POST or None, instance=Broker(owner=request.user))
    if request.method == "POST" and form.is_valid():
        broker = form.save()
        return redirect("broker", broker_id=broker.pk)
    status = 400 if form.errors else 200
    return render(request, "devices/broker_new.html", {"form": form}, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def broker_page(request: HttpRequest, broker_id: int) -> HttpResponse:
    broker = owned_broker(request, broker_id)
    form = BrokerForm(request.POST or None, instance=broker)
    if request.method == "POST" and form.is_valid():
        # Only the form's fields: the counters and status are the bridge's to write.
        form.save(commit=False).save(update_fields=list(form.fields))
        return redirect("broker", broker_id=broker.pk)
    route_form = RouteForm(broker=broker)
    return broker_page_render(request, broker, form, route_form)


def broker_page_render(
    request: HttpRequest, broker: Broker, form: BrokerForm, route_form: RouteForm
) -> HttpResponse:
    broker.refresh_from_db(fields=["messages", "bad_payloads", "last_error", "status"])
    context = {
        **broker_context(broker),
        "form": form,
        "route_form": route_form,
        "routes": broker.routes.select_related("stream"),
    }
    status = 400 if form.errors or route_form.errors else 200
    return render(request, "devices/broker.html", context, status=status)


@login_required
@require_POST
def broker_route_add(request: HttpRequest, broker_id: int) -> HttpResponse:
    broker = owned_broker(request, broker_id)
    route_form = RouteForm(request.POST, broker=broker)
    if route_form.is_valid():
        data = route_form.cleaned_data
        services.broker_route_add(
            broker=broker, topic=data["topic"], stream=data["stream_object"], field=data["field"]
        )
        return redirect("broker", broker_id=broker.pk)
    return broker_page_render(request, broker, BrokerForm(instance=broker), route_form)


@login_required
@require_POST
def broker_route_remove(request: HttpRequest, broker_id: int, route_id: int) -> HttpResponse:
    broker = owned_broker(request, broker_id)
    services.broker_route_remove(broker=broker, route_id=route_id)
    return redirect("broker", broker_id=broker.pk)


@login_required
@require_POST
def broker_delete(request: HttpRequest, broker_id: int) -> HttpResponse:
    services.broker_delete(broker=owned_broker(request, broker_id))
    return redirect("brokers")
