"""GET /api/streams/<slug>/samples: stored samples with every field, a page at a time.

POST on the same path ingests (streams/http/samples.py); this module answers GET,
for playback, widgets that show fields other than numbers, and scripts.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse

from streams.history.samples import history_first_t, samples_page
from streams.http.common import api_error
from streams.http.params import TIME_RANGE, BadParameter, IntQuery, time_range
from streams.http.samples import samples_ingest
from streams.http.viewer import viewer_required_json, viewer_stream

DEFAULT_LIMIT = 1_000
MAX_LIMIT = 10_000
MAX_SEQ = 2**63 - 1
LIMIT = IntQuery("limit", f"At most this many samples (default {DEFAULT_LIMIT}).", 1, MAX_LIMIT)
AFTER_SEQ = IntQuery("after_seq", "Samples after this seq, oldest first (default 0).", 0, MAX_SEQ)
BEFORE_SEQ = IntQuery(
    "before_seq", "Instead of after_seq: the newest samples before this seq.", 0, MAX_SEQ
)
PARAMETERS = (*TIME_RANGE, AFTER_SEQ, BEFORE_SEQ, LIMIT)


def samples(request: HttpRequest, slug: str) -> HttpResponse:
    """Read stored samples (GET) or push new ones (POST)."""
    if request.method == "POST":
        return samples_ingest(request, slug)
    if request.method not in ("GET", "HEAD"):
        return api_error("method_not_allowed", "Use GET to read samples, POST to push.", 405)
    return samples_read(request, slug)


@viewer_required_json
def samples_read(request: HttpRequest, slug: str) -> JsonResponse:
    """Return up to `limit` samples of [from, to) after `after_seq` (or before `before_seq`).

    Every field comes back as stored (numbers, text, trades, order books) with
    seq, t and flags. `next_after_seq` (or `next_before_seq`) continues the walk;
    null means the range has no more. `raw_from` is the time of the oldest
    sample still stored: before it, only the rollup tiers remain (retention).
    """
    stream = viewer_stream(request, slug)
    if stream is None:
        return api_error("unknown_stream", f"There is no stream {slug!r} you may see.", 404)
    try:
        start, end = time_range(request)
        limit = LIMIT.parse(request, DEFAULT_LIMIT)
        after_seq = AFTER_SEQ.parse(request, 0)
        before_seq = BEFORE_SEQ.parse(request, -1)
    except BadParameter as error:
        return api_error("invalid_field", str(error), 400)
    backward = before_seq >= 0
    page = samples_page(
        stream.pk,
        start=start,
        end=end,
        after_seq=None if backward else after_seq,
        before_seq=before_seq if backward else None,
        limit=limit,
    )
    more = len(page) == limit
    answer = {
        "stream": slug,
        "from": start,
        "to": end,
        "fields": stream.fields,
        "raw_from": history_first_t(stream.pk),
        "samples": page,
    }
    if backward:
        answer["next_before_seq"] = page[0]["seq"] if more else None
    else:
        answer["next_after_seq"] = page[-1]["seq"] if more else None
    return JsonResponse(answer)
