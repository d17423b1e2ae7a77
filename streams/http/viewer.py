"""Who reads the past through the API: a signed-in reader, or a secret link's holder.

A link holder sends `?share=<token>` and reads what the link shows, as on its page:
history, stored samples and exports of the streams on that dashboard.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.http import HttpRequest, HttpResponse

from streams.access import link_of, stream_for_viewer
from streams.http.common import api_error
from streams.models import Stream


def viewer_required_json(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Answer 401 in JSON unless the caller is signed in or sends a link's `?share=`.

    What a link may read is checked by `viewer_stream`, per stream.
    """

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated and not request.GET.get("share"):
            return api_error(
                "unauthenticated",
                "Log in, send `Authorization: Token <token>`, or a link's `share`.",
                401,
            )
        return view(request, *args, **kwargs)

    return wrapper


def viewer_stream(request: HttpRequest, slug: str) -> Stream | None:
    """Return the stream when the caller may read it, themselves or through `?share=`."""
    token = request.GET.get("share") or ""
    # A NUL cannot be looked up (PostgreSQL refuses it in text): no such link.
    link = link_of(token) if token and "\x00" not in token else None
    stream, allowed = stream_for_viewer(slug, request.user, link)
    return stream if allowed else None
