"""What a derived stream's source may read: only what its owner reads directly, at each read.

A source that reads other streams (a replay) is handed a reader bound to its
stream: it answers pages of the streams the source's settings name, checked by
the read rule as committed right after the page is read (the owner, their
standing, the stream's owner and publicity). A page it may not read comes back
empty and is noted as refused; the producer then stops the stream at once, so
even a change no event announced (a bulk UPDATE, a missed message) copies nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from streams.access import streams_derived_may_read
from streams.history.reader import samples_read
from streams.models import Stream


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
        # The rule is read after the page: what is copied was readable at a moment
        # after it was read, so a change committed before the read copies nothing.
        source_id = Stream.objects.filter(slug=slug).values_list("pk", flat=True).first()
        page: list[tuple[int, int, dict[str, Any], list[str]]] = []
        if source_id is not None:
            read = samples_read(source_id, start=start, end=end, after_seq=after_seq, limit=limit)
            page = [(seq, t, values, list(flags)) for seq, t, values, flags in read]
        if not readable.filter(pk=source_id).exists():
            self.refused.append(slug)
            return []
        return page
