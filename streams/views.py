"""The pages of the data plane."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from streams.selectors import stream_can_control, streams_readable_by
from streams.sources import SOURCES


@login_required
def overview(request: HttpRequest) -> HttpResponse:
    """Show live charts of every stream the user may watch."""
    streams = [
        {
            "slug": stream.slug,
            "title": stream.title,
            "fields": stream.fields,
            "running": stream.running,
            "source_kind": stream.source_kind,
            "can_control": stream.source_kind in SOURCES
            and stream_can_control(stream, request.user),
        }
        for stream in streams_readable_by(request.user)
    ]
    return render(request, "streams/overview.html", {"streams": streams})
