"""Reading stored samples: by seq for resume, backfill and hole-filling; by time for replays."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

import orjson
from django.db import connection
from django.db.models import Max, Min

from streams.messages import SampleFrame, sample_frame
from streams.models import Sample


def history_first_seq(stream_id: int) -> int:
    """Return the lowest stored seq of a stream (retention deletes from the start), 0 if none."""
    return Sample.objects.filter(stream_id=stream_id).aggregate(first=Min("seq"))["first"] or 0


def history_last_seq(stream_id: int) -> int:
    """Return the highest stored seq of a stream, 0 when it has none."""
    return Sample.objects.filter(stream_id=stream_id).aggregate(last=Max("seq"))["last"] or 0


def _frames(rows: Iterable[tuple[int, int, dict, list]]) -> list[SampleFrame]:
    return [sample_frame(seq, t, values, flags) for seq, t, values, flags in rows]


# Resumes, backfills and holes read many rows at once (a few seconds of a 1 kHz
# stream are thousands, for every viewer coming back after a restart): a plain
# cursor and orjson, as the raw history tier reads, not the ORM's row objects
# and stdlib JSON per field.
AFTER_SQL = (
    'SELECT seq, t, "values", flags FROM streams_sample'
    " WHERE stream_id = %s AND seq > %s AND seq <= %s ORDER BY seq LIMIT %s"
)
# Nineteen digits in a row: an integer orjson would read as a float (2**63 and
# more) or a decimal longer than a double; such rows are read by json, exactly.
LONG_NUMBER = re.compile(r"\d{19}")
NO_SEQ_LIMIT = 2**63 - 1


def _decoded(text: Any) -> Any:
    """A JSON column as the ORM would return it (a driver that decodes JSON itself is trusted)."""
    if isinstance(text, bytes):
        text = text.decode()
    if not isinstance(text, str):
        return text
    if LONG_NUMBER.search(text) is None:
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError:  # NaN or Infinity (json.dumps writes them)
            pass
    return json.loads(text)


def history_after(
    stream_id: int, since: int, *, until: int | None = None, limit: int
) -> list[SampleFrame]:
    """Return up to `limit` stored samples with since < seq (≤ until), oldest first."""
    if limit <= 0:
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            AFTER_SQL, [stream_id, since, NO_SEQ_LIMIT if until is None else until, limit]
        )
        rows = cursor.fetchall()
    return [
        sample_frame(seq, t, _decoded(values), _decoded(flags) or ())
        for seq, t, values, flags in rows
    ]


def history_latest(stream_id: int, count: int) -> list[SampleFrame]:
    """Return the last `count` stored samples of a stream, oldest first."""
    if count <= 0:
        return []
    rows = Sample.objects.filter(stream_id=stream_id).order_by("-seq")
    newest_first = list(rows.values_list("seq", "t", "values", "flags")[:count])
    return _frames(reversed(newest_first))


def history_page(
    slug: str, *, start: int, end: int, after_seq: int, limit: int
) -> list[tuple[int, int, dict[str, Any], list[str]]]:
    """Return up to `limit` (seq, t, values, flags) rows of a stream in [start, end), after a seq."""
    rows = Sample.objects.filter(
        stream__slug=slug, t__gte=start, t__lt=end, seq__gt=after_seq
    ).order_by("seq")
    return list(rows.values_list("seq", "t", "values", "flags")[:limit])


def seq_bounds(stream_id: int, start: int, end: int) -> tuple[int, int] | None:
    """Return the first and last seq stored in [start, end) (seq grows with t)."""
    rows = Sample.objects.filter(stream_id=stream_id)
    first = rows.filter(t__gte=start).order_by("t", "seq").values_list("seq", flat=True).first()
    last = rows.filter(t__lt=end).order_by("-t", "-seq").values_list("seq", flat=True).first()
    if first is None or last is None or first > last:
        return None
    return first, last


def samples_page(
    stream_id: int,
    *,
    start: int,
    end: int,
    after_seq: int | None = None,
    before_seq: int | None = None,
    limit: int,
) -> list[SampleFrame]:
    """Return up to `limit` stored samples of [start, end) with every field, oldest first.

    Forward after `after_seq`, or with `before_seq` the newest before it. Pages
    walk the (stream, seq) index between the range's first and last seq, so a
    page deep into a day of 1 kHz data costs what the first one does.
    """
    bounds = seq_bounds(stream_id, start, end)
    if bounds is None:
        return []
    first, last = bounds
    rows = Sample.objects.filter(stream_id=stream_id, seq__gte=first, seq__lte=last)
    columns = ("seq", "t", "values", "flags")
    if before_seq is not None:
        newest = rows.filter(seq__lt=before_seq).order_by("-seq").values_list(*columns)
        return _frames(reversed(list(newest[:limit])))
    rows = rows.filter(seq__gt=after_seq or 0).order_by("seq")
    return _frames(rows.values_list(*columns)[:limit])


def history_first_t(stream_id: int) -> int | None:
    """Return the time of a stream's oldest stored sample: raw history starts there."""
    rows = Sample.objects.filter(stream_id=stream_id).order_by("seq")
    return rows.values_list("t", flat=True).first()
