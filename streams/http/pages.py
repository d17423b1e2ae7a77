"""The pages of the data plane: the live overview of streams, and a new stream."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from streams.access import stream_by_slug, stream_can_control, stream_can_read, streams_readable_by
from streams.catalog import SlugTaken, StreamRequest, stream_create
from streams.describe import stream_page_json
from streams.http.push_examples import push_examples
from streams.http.tokens import token_issue
from streams.models import ApiToken, SourceKind

DAY = 86_400
# The word after a field's name that makes it a text field on the New stream form.
TEXT_WORD = "text"


@login_required
def overview(request: HttpRequest) -> HttpResponse:
    """Show live charts of every stream the user may watch."""
    streams = [
        stream_page_json(stream, request.user) for stream in streams_readable_by(request.user)
    ]
    return render(request, "streams/overview.html", {"streams": streams})


def fields_parse(text: str) -> list[dict[str, str]] | None:
    """Return "name unit" lines as number fields and "name text" lines as text fields.

    None when there are none.
    """
    fields = []
    for line in text.splitlines():
        name, _, rest = line.strip().partition(" ")
        rest = rest.strip()
        if not name:
            continue
        if rest.lower() == TEXT_WORD:
            fields.append({"name": name, "unit": "", "type": "text"})
        else:
            fields.append({"name": name, "unit": rest, "type": "number"})
    return fields or None


def stream_request_of(post: Any) -> StreamRequest:
    try:
        days = float(post.get("retention_days") or 7)
    except ValueError:
        days = -1
    return StreamRequest(
        slug=post.get("slug", "").strip(),
        title=post.get("title", ""),
        source_kind=post.get("source_kind", SourceKind.PUSH),
        fields=fields_parse(post.get("fields", "")),
        is_public=post.get("public") == "on",
        retention_seconds=int(days * DAY),
    )


@login_required
@require_http_methods(["GET", "POST"])
def stream_new(request: HttpRequest) -> HttpResponse:
    """A form that makes a stream of the user's; a push stream by default."""
    errors: dict[str, str] = {}
    post = request.POST if request.method == "POST" else {}
    if request.method == "POST":
        wanted = stream_request_of(post)
        try:
            stream = stream_create(owner=request.user, request=wanted)
        except ValidationError as error:
            errors = {name: " ".join(problems) for name, problems in error.message_dict.items()}
        except SlugTaken:
            errors = {"slug": f"There is a stream {wanted.slug!r} already."}
        else:
            messages.success(request, f"{stream.slug} is yours; it is private until you share it.")
            return redirect("stream-page", slug=stream.slug)
    errors = {("retention_days" if k == "retention_seconds" else k): v for k, v in errors.items()}
    inputs = [
        ("title", "Title", "text", post.get("title", ""), "What people see, e.g. Greenhouse 2."),
        ("slug", "Slug", "text", post.get("slug", ""), "Letters, digits, dots, dashes: greenhouse.2"),
        ("source_kind", "Kind", "select", post.get("source_kind", "push"), "Where its samples come from."),
        ("fields", "Fields (push streams)", "textarea", post.get("fields", "value"), "One per line: a name, then its unit (temperature °C). Numbers unless you write text after the name (status text); pushed values must match."),
        ("retention_days", "Keep history for (days)", "number", post.get("retention_days", "7"), "Older samples are deleted."),
        ("public", "Every signed-in user may watch it", "checkbox", post.get("public") == "on", "Private streams reach only those you share a dashboard with."),
    ]  # fmt: skip
    choices = [(k, label) for k, label in SourceKind.choices if k not in ("system", "replay")]
    context = {"inputs": inputs, "errors": errors, "kinds": choices}
    return render(request, "streams/new.html", context, status=400 if errors else 200)


@login_required
@require_http_methods(["GET", "POST"])
def stream_page(request: HttpRequest, slug: str) -> HttpResponse:
    """One stream: what it is and, for its owner, how to push to it (a POST makes a token).

    Stored tokens are digests: the examples carry a token only in the answer
    that made it, and a placeholder otherwise.
    """
    stream = stream_by_slug(slug)
    if stream is None or not stream_can_read(stream, request.user):
        raise Http404("No such stream.")
    pushable = stream.source_kind == SourceKind.PUSH and stream_can_control(stream, request.user)
    token = None
    if request.method == "POST":
        if not pushable:
            raise Http404("Only the owner of a push stream makes tokens here.")
        token = token_issue(user=request.user, name=f"{slug} push"[:100])[1]
    site = f"{request.scheme}://{request.get_host()}"
    context = {
        "stream": stream,
        "pushable": pushable,
        "token": token,
        "has_tokens": ApiToken.objects.filter(user=request.user).exists(),
        "push_url": f"{site}/api/streams/{slug}/samples",
        "examples": push_examples(site=site, slug=slug, fields=stream.fields, token=token)
        if pushable
        else [],
    }
    response = render(request, "streams/stream.html", context)
    response["Cache-Control"] = "no-store"
    return response
