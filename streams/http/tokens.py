"""The API tokens page: make a token (shown once), see each one's prefix and last use, revoke.

A token is stored as its digest, so the page can show a new token only in the
answer that made it. Revoking deletes the row, which closes the sockets that
signed in with it (streams/signals.py).
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from streams.models import ApiToken

MAX_TOKENS_PER_USER = 50
MAX_NAME = 100


def tokens_of(user: Any) -> list[ApiToken]:
    return list(ApiToken.objects.filter(user=user).order_by("-created", "-pk"))


def token_name_problem(name: str, user: Any) -> str | None:
    """Return why a token may not be made with this name, or None."""
    if not name:
        return "Give the token a name: where it is used, e.g. greenhouse-pi."
    if len(name) > MAX_NAME:
        return f"At most {MAX_NAME} characters."
    if ApiToken.objects.filter(user=user).count() >= MAX_TOKENS_PER_USER:
        return f"You have {MAX_TOKENS_PER_USER} tokens already; revoke one first."
    return None


def token_issue(*, user: Any, name: str) -> tuple[ApiToken, str]:
    """Make a token for `user`; return its row and the token itself (shown this once)."""
    return ApiToken.objects.issue(user=user, name=name)


@login_required
@require_http_methods(["GET", "POST"])
def tokens_page(request: HttpRequest) -> HttpResponse:
    """List the user's tokens; a POST makes one and shows it, once."""
    context: dict[str, Any] = {"name": "", "error": None, "new_token": None}
    status = 200
    if request.method == "POST":
        name = request.POST.get("name", "").strip()
        context["error"] = token_name_problem(name, request.user)
        if context["error"]:
            context["name"], status = name, 400
        else:
            row, token = token_issue(user=request.user, name=name)
            context["new_token"], context["new_row"] = token, row
    context["tokens"] = tokens_of(request.user)
    response = render(request, "streams/tokens.html", context, status=status)
    # The page may carry a token in clear: no cache may keep it.
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
def token_revoke(request: HttpRequest, token_id: int) -> HttpResponse:
    """Delete one of the user's tokens: scripts using it are refused from now on."""
    row = get_object_or_404(ApiToken, pk=token_id, user=request.user)
    label = row.name or row.prefix
    row.delete()
    notice = f"“{label}” is revoked: requests and sockets using it are refused."
    if request.headers.get("HX-Request"):
        context = {"tokens": tokens_of(request.user), "notice": notice, "name": ""}
        return render(request, "streams/tokens.html", context)
    messages.success(request, notice)
    return redirect("tokens")
