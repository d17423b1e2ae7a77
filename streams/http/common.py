"""What every API view shares: JSON errors, the login check, the stream it names."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse

from streams.access import stream_by_slug, stream_can_read
from streams.models import Stream


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


def readable(request: HttpRequest, slug: str) -> Stream | None:
    stream = stream_by_slug(slug)
    return stream if stream is not None and stream_can_read(stream, request.user) else None
