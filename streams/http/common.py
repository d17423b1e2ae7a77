"""What every API view shares: JSON errors, the login check, query parameters."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse

from streams.access import stream_by_slug, stream_can_read
from streams.clock import now_ms
from streams.models import Stream

DEFAULT_SPAN_MS = 3_600_000


def api_error(code: str, message: str, status: int) -> JsonResponse:
    return JsonResponse({"error": {"code": code, "message": message}}, status=status)


def login_required_json(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Answer 401 in JSON, not a redirect to the login page, when nobody is logged in."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return api_error(
                "unauthenticated", "Log in, or send `Authorization: Token <token>`.", 401
            )
        return view(request, *args, **kwargs)

    return wrapper


class BadParameter(Exception):
    pass


def int_param(request: HttpRequest, name: str, default: int, *, low: int, high: int) -> int:
    raw = request.GET.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadParameter(f"`{name}` must be a whole number, got {raw[:40]!r}.") from None
    if not low <= value <= high:
        raise BadParameter(f"`{name}` must be from {low} to {high}.")
    return value


def time_range(request: HttpRequest) -> tuple[int, int]:
    """Return [from, to) in ms from the query; the default is the last hour."""
    now = now_ms()
    end = int_param(request, "to", now, low=0, high=2**53)
    start = int_param(request, "from", end - DEFAULT_SPAN_MS, low=0, high=2**53)
    if start >= end:
        raise BadParameter("`from` must be earlier than `to`.")
    return start, end


def readable(request: HttpRequest, slug: str) -> Stream | None:
    stream = stream_by_slug(slug)
    return stream if stream is not None and stream_can_read(stream, request.user) else None
