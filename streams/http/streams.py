"""/api/streams/: GET the streams the caller may read; POST makes a new stream of theirs."""

from __future__ import annotations

from typing import Any

import orjson
from django.core.exceptions import ValidationError
from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_http_methods

from streams.access import streams_readable_by
from streams.catalog import SlugTaken, StreamRequest, stream_create
from streams.describe import stream_summary
from streams.http.common import api_error, login_required_json

JSON_TYPES = {
    str: "text",
    list: "a list",
    dict: "an object",
    bool: "true or false",
    int: "a whole number",
}
FIELDS = {
    "slug": str,
    "title": str,
    "source_kind": str,
    "fields": list,
    "settings": dict,
    "public": bool,
    "retention_seconds": int,
}


@require_http_methods(["GET", "POST"])
@login_required_json
def streams_list(request: HttpRequest) -> JsonResponse:
    if request.method == "POST":
        return stream_new(request)
    streams = streams_readable_by(request.user).select_related("owner")
    return JsonResponse({"streams": [stream_summary(stream) for stream in streams]})


def stream_request_from(body: Any) -> StreamRequest:
    """Return the body as a StreamRequest; raise ValueError naming what is wrong."""
    if not isinstance(body, dict):
        raise ValueError("The body must be a JSON object.")
    for name, kind in FIELDS.items():
        value = body.get(name)
        if value is not None and (
            not isinstance(value, kind) or isinstance(value, bool) != (kind is bool)
        ):
            raise ValueError(f"`{name}` must be {kind.__name__}.")
    unknown = set(body) - set(FIELDS)
    if unknown:
        raise ValueError(f"Unknown keys: {', '.join(sorted(unknown))}.")
    for name in ("slug", "title", "source_kind"):
        if not body.get(name):
            raise ValueError(f"`{name}` is required.")
    return StreamRequest(
        slug=body["slug"],
        title=body["title"],
        source_kind=body["source_kind"],
        fields=body.get("fields"),
        source_settings=body.get("settings") or {},
        is_public=bool(body.get("public", False)),
        retention_seconds=(
            body["retention_seconds"] if body.get("retention_seconds") is not None else 7 * 86_400
        ),
    )


def stream_new(request: HttpRequest) -> JsonResponse:
    """Make a stream owned by the caller: `{"slug", "title", "source_kind", "fields"?, …}`."""
    try:
        wanted = stream_request_from(orjson.loads(request.body))
    except orjson.JSONDecodeError as error:
        return api_error("invalid_json", f"The body is not valid JSON: {error}", 400)
    except ValueError as error:
        return api_error("invalid_field", str(error), 400)
    try:
        stream = stream_create(owner=request.user, request=wanted)
    except ValidationError as error:
        problems = "; ".join(f"{name}: {' '.join(m)}" for name, m in error.message_dict.items())
        return api_error("invalid_field", problems, 400)
    except SlugTaken:
        return api_error("slug_taken", f"There is a stream {wanted.slug!r} already.", 409)
    return JsonResponse(stream_summary(stream), status=201)
