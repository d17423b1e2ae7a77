"""GET /api/streams/<slug>/export.csv and .json: the raw range, streamed page by page."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import orjson
from channels.db import database_sync_to_async
from django.http import HttpRequest, StreamingHttpResponse
from django.views.decorators.http import require_GET

from streams.history.codec import StoredSample
from streams.history.reader import samples_pages
from streams.http.common import api_error
from streams.http.params import TIME_RANGE, BadParameter, IntQuery, time_range
from streams.http.viewer import viewer_required_json, viewer_stream
from streams.models import Stream

EXPORT_PAGE = 5_000
MAX_SEQ = 2**63 - 1
FIRST_SEQ = IntQuery(
    "first_seq", "Only samples from this seq on (what a widget shows).", 0, MAX_SEQ
)
LAST_SEQ = IntQuery("last_seq", "Only samples up to this seq (inclusive).", 0, MAX_SEQ)
PARAMETERS = (*TIME_RANGE, FIRST_SEQ, LAST_SEQ)
SeqRange = tuple[int, int]
# A spreadsheet runs a cell starting with one of these as a formula (a field named
# `=1+1`, a pushed `=HYPERLINK(...)`): text cells that do get a leading quote.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


async def export_pages(
    stream_id: int, start: int, end: int, seqs: SeqRange | None = None
) -> AsyncIterator[list[StoredSample]]:
    """Yield the raw range a page at a time, so memory stays flat whatever its length.

    Pages come from the one reader (blocks and rows), each from where the last
    one stopped by seq, so each page costs the same however deep into a long
    range it is. `seqs` narrows it to [first, last] seq: exactly the samples a
    widget holds.
    """
    first, last = seqs if seqs is not None else (None, None)
    pages = samples_pages(
        stream_id,
        start=start,
        end=end,
        after_seq=None if first is None else first - 1,
        until_seq=last,
        page=EXPORT_PAGE,
    )
    while (rows := await database_sync_to_async(next)(pages, None)) is not None:
        yield rows


def iso(t: int) -> str:
    return datetime.fromtimestamp(t / 1000, tz=UTC).isoformat(timespec="milliseconds")


async def csv_body(
    stream: Stream, start: int, end: int, seqs: SeqRange | None = None
) -> AsyncIterator[bytes]:
    names = [field["name"] for field in stream.fields]
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["seq", "t", "time", *map(inert, names), "flags"])
    async for rows in export_pages(stream.pk, start, end, seqs):
        for seq, t, values, flags in rows:
            cells = [_cell(values.get(name)) for name in names]
            writer.writerow([seq, t, iso(t), *cells, inert(" ".join(flags))])
        yield buffer.getvalue().encode()
        buffer.seek(0)
        buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue().encode()


def inert(text: str) -> str:
    """Return `text` as a spreadsheet shows it and never runs it (a quote before a formula)."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _cell(value: Any) -> Any:
    # Numbers stay numbers (-3.5 is written -3.5); JSON starts with { or [.
    if isinstance(value, dict | list):
        return orjson.dumps(value).decode()
    if isinstance(value, str):
        return inert(value)
    return "" if value is None else value


async def json_body(
    stream: Stream, start: int, end: int, seqs: SeqRange | None = None
) -> AsyncIterator[bytes]:
    header = {"stream": stream.slug, "from": start, "to": end, "fields": stream.fields}
    yield orjson.dumps(header)[:-1] + b',"samples":['
    first = True
    async for rows in export_pages(stream.pk, start, end, seqs):
        parts = []
        for seq, t, values, flags in rows:
            sample: dict[str, Any] = {"seq": seq, "t": t, "values": values}
            if flags:
                sample["flags"] = flags
            parts.append(orjson.dumps(sample))
        chunk = b",".join(parts)
        yield chunk if first else b"," + chunk
        first = False
    yield b"]}"


@require_GET
@viewer_required_json
def stream_export(request: HttpRequest, slug: str, extension: str) -> Any:
    """Stream the raw samples of [from, to) as CSV or JSON (of seq first_seq to last_seq)."""
    if extension not in ("csv", "json"):
        return api_error("unknown_format", "Export as .csv or .json.", 404)
    stream = viewer_stream(request, slug)
    if stream is None:
        return api_error("unknown_stream", f"There is no stream {slug!r} you may see.", 404)
    try:
        start, end = time_range(request)
        seqs = (FIRST_SEQ.parse(request, 0), LAST_SEQ.parse(request, MAX_SEQ))
    except BadParameter as error:
        return api_error("invalid_field", str(error), 400)
    body = (csv_body if extension == "csv" else json_body)(stream, start, end, seqs)
    content_type = "text/csv; charset=utf-8" if extension == "csv" else "application/json"
    response = StreamingHttpResponse(body, content_type=content_type)
    filename = f"{slug}-{start}-{end}.{extension}"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
