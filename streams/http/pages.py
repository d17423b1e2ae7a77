"""The pages of the data plane."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from streams.access import streams_readable_by
from streams.describe import stream_page_json


@login_required
def overview(request: HttpRequest) -> HttpResponse:
    """Show live charts of every stream the user may watch."""
    streams = [
        stream_page_json(stream, request.user) for stream in streams_readable_by(request.user)
    ]
    return render(request, "streams/overview.html", {"streams": streams})
