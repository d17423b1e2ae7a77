"""What a derived stream's source may read: only what its owner reads directly, at each read.

A source that reads other streams (a replay) is handed a reader bound to its
stream: it answers pages of the streams the source's settings name, filtered in
the same query by the read rule as committed at that moment (the owner, their
standing, the stream's owner and publicity). A page it may not read comes back
empty and is noted as refused; the producer then stops the stream at once, so
even a change no event announced (a bulk UPDATE, a missed message) copies nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db.models import Subquery

from streams.access import streams_derived_may_read
from streams.models import Sample


@dataclass
class DerivedReader:
    """The history reader of one stream's source: its declared streams, its owner's rule."""

    stream_id: int
    reads: tuple[str, ...]
    refused: list[str] = field(default_factory=list)

    def __call__(
        self, slug: str, *, start: int, end: int, after_seq: int, limit: int
    ) -> list[tuple[int, int, dict[str, Any], list[str]]]:
        """Return up to `limit` (seq, t, values, flags) rows in [start, end) after a seq, if allowed."""
        if slug not in self.reads:
            self.refused.append(slug)
            return []
        readable = streams_derived_may_read(self.stream_id).filter(slug=slug).order_by()
        # One statement: the rule and the rows are read from the same committed state.
        rows = Sample.objects.filter(
            stream_id=Subquery(readable.values("pk")[:1]),
            t__gte=start,
            t__lt=end,
            seq__gt=after_seq,
        ).order_by("seq")
        page = list(rows.values_list("seq", "t", "values", "flags")[:limit])
        if not page and not readable.exists():
            self.refused.append(slug)
        return page
