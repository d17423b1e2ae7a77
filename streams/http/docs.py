"""GET /api/schema.json (OpenAPI), /api/asyncapi.json (AsyncAPI) and /api/docs/ (a viewer)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from streams.http.openapi import openapi_document
from streams.live.asyncapi import asyncapi_document

# The version of the documents; the live protocol has its own in `hello.protocol`.
API_VERSION = "1.0.0"


@require_GET
def openapi_schema(request: HttpRequest) -> JsonResponse:
    return JsonResponse(openapi_document(API_VERSION))


@require_GET
def asyncapi_schema(request: HttpRequest) -> JsonResponse:
    return JsonResponse(asyncapi_document(API_VERSION, request.get_host()))


@require_GET
def api_docs(request: HttpRequest) -> HttpResponse:
    """Show the HTTP API in Swagger UI, with a link to the live protocol's document."""
    return render(request, "api/docs.html")
