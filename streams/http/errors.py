"""Every error of the API is JSON with a stable code, whoever answered it.

Views answer their own errors with `api_error`; what Django answers before or
instead of a view (no such URL, a wrong method, a refused CSRF check, a crash)
is HTML, and `ApiErrorMiddleware` turns that into the same JSON shape.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.http import HttpRequest, HttpResponse
from django.urls import Resolver404, resolve
from django.views.csrf import csrf_failure as django_csrf_failure

from streams.http.common import api_error
from streams.http.openapi import OPERATIONS

# Where the API answers: the paths the OpenAPI document describes.
API_PATHS = ("/api/", "/healthz", "/metrics")

# The code and message of an error Django answered, by status.
DJANGO_ERRORS = {
    400: ("bad_request", "The request is not valid."),
    401: ("unauthenticated", "Log in, or send `Authorization: Token <token>`."),
    403: ("forbidden", "You may not do that."),
    404: ("not_found", "There is nothing at this URL."),
    405: ("method_not_allowed", "This URL does not take that method."),
    413: ("too_large", "The request body is too large."),
    500: ("internal", "The server failed; the error is logged."),
}
# Headers of the original answer a client still needs.
KEPT_HEADERS = ("Allow", "Retry-After", "WWW-Authenticate")


def is_api(request: HttpRequest) -> bool:
    return request.path.startswith(API_PATHS)


def allowed_methods(request: HttpRequest) -> str | None:
    """Return the `Allow` header of the request's route, from the operations declared on it."""
    try:
        name = resolve(request.path_info).url_name
    except Resolver404:
        return None
    methods = sorted({op.method.upper() for op in OPERATIONS if op.url_name == name})
    return ", ".join(methods) or None


def as_json_error(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    """Return the JSON error for an HTML error answer; JSON and successes pass as they are."""
    if response.status_code < 400:
        return response
    if not response.get("Content-Type", "").startswith("application/json"):
        status = response.status_code
        code, message = DJANGO_ERRORS.get(status, DJANGO_ERRORS[500 if status >= 500 else 400])
        answer = api_error(code, message, status)
        for header in KEPT_HEADERS:
            if header in response:
                answer[header] = response[header]
        response = answer
    if response.status_code == 405 and "Allow" not in response:
        allow = allowed_methods(request)
        if allow:
            response["Allow"] = allow
    return response


class ApiErrorMiddleware:
    """Turn every non-JSON error answer of the API into `{"error": {"code", "message"}}`."""

    async_capable = True
    sync_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], Any]):
        self.get_response = get_response
        if iscoroutinefunction(get_response):
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> Any:
        if iscoroutinefunction(self):
            return self.__acall__(request)
        response = self.get_response(request)
        return as_json_error(request, response) if is_api(request) else response

    async def __acall__(self, request: HttpRequest) -> HttpResponse:
        response = await self.get_response(request)
        return as_json_error(request, response) if is_api(request) else response


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """Answer a refused CSRF check: JSON in the API, Django's page elsewhere.

    A request to the API with no session and no token has no session to ride
    on, so nothing to forge: it gets the view's own answer (401, 405, …), as a
    script expects, not a CSRF refusal.
    """
    if not is_api(request):
        return django_csrf_failure(request, reason)
    if not request.user.is_authenticated:
        try:
            match = resolve(request.path_info)
        except Resolver404:
            return api_error(*DJANGO_ERRORS[404], 404)
        if not iscoroutinefunction(match.func):
            return match.func(request, *match.args, **match.kwargs)
        return api_error(*DJANGO_ERRORS[401], 401)
    return api_error(
        "csrf_failed",
        "A browser session must send its CSRF token; scripts send "
        "`Authorization: Token <token>` instead.",
        403,
    )
