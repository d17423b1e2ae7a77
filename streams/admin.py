from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from asgiref.sync import async_to_sync
from django import forms
from django.contrib import admin, messages
from django.contrib.admin.views.main import ChangeList
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html

from streams.access import (
    derived_not_public,
    derived_start_refusal,
    derived_unread,
    kind_reads,
    streams_by_slug,
)
from streams.history.reader import samples_read
from streams.models import ApiToken, Sample, Stream, StreamLease
from streams.producer.control import stream_set_running
from streams.publishing import send_stream_status
from streams.sources import source_settings_errors


def announce_running(request: HttpRequest, streams: QuerySet[Stream], running: bool) -> list[str]:
    """Start or stop the streams and tell their watchers; return why those refused did not start."""
    refused = []
    for stream in streams:
        refusal = derived_start_refusal(stream.pk) if running else None
        if refusal is not None:
            refused.append(refusal)
            continue
        stream_set_running(stream_id=stream.pk, slug=stream.slug, running=running)
        async_to_sync(send_stream_status)(
            slug=stream.slug, running=running, by=request.user.get_username()
        )
    return refused


DAY_SECONDS = 24 * 3600


class StreamForm(forms.ModelForm):
    """The stream form of the admin: source settings are checked by their source.

    Retention is asked in days, as the New stream page asks it.
    """

    retention_days = forms.FloatField(
        label="Keep history for (days)",
        min_value=1 / 24,
        initial=7,
        help_text="Older samples are deleted. 0.5 is twelve hours.",
    )

    class Meta:
        model = Stream
        fields = [
            "slug",
            "title",
            "fields",
            "owner",
            "is_public",
            "source_kind",
            "source_settings",
            "running",
        ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial["retention_days"] = round(self.instance.retention_seconds / DAY_SECONDS, 4)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("retention_days") is not None:
            self.instance.retention_seconds = round(cleaned["retention_days"] * DAY_SECONDS)
        errors = source_settings_errors(
            cleaned.get("source_kind", ""), cleaned.get("source_settings") or {}
        )
        if errors:
            self.add_error("source_settings", errors)
        else:
            self.clean_derived(cleaned)
        return cleaned

    def clean_derived(self, cleaned: dict[str, Any]) -> None:
        """A stream that reads others runs only if its owner reads them, is public only if they are."""
        reads = kind_reads(cleaned.get("source_kind", ""), cleaned.get("source_settings") or {})
        if not reads:
            return
        sources = streams_by_slug(reads)
        missing = [slug for slug in reads if slug not in sources]
        if missing:
            self.add_error("source_settings", f"There is no stream {missing[0]!r} to read.")
            return
        unread = derived_unread(cleaned.get("owner"), reads, sources)
        if cleaned.get("running") and unread is not None:
            self.add_error(
                "running",
                f"It reads {unread!r}, which its owner does not read directly: it may not run.",
            )
        private = derived_not_public(reads, sources)
        if cleaned.get("is_public") and private is not None:
            self.add_error(
                "is_public", f"It may be public only while what it reads is: {private!r} is not."
            )


@admin.register(Stream)
class StreamAdmin(admin.ModelAdmin):
    form = StreamForm
    list_display = [
        "slug",
        "title",
        "source_kind",
        "owner",
        "is_public",
        "running",
        "retention",
    ]
    list_filter = ["source_kind", "running", "is_public"]
    search_fields = ["slug", "title"]
    actions = ["start_sources", "stop_sources"]

    @admin.display(description="retention", ordering="retention_seconds")
    def retention(self, stream: Stream) -> str:
        days = stream.retention_seconds / DAY_SECONDS
        if days >= 1:
            return f"{days:g} day{'' if days == 1 else 's'}"
        return f"{stream.retention_seconds / 3600:g} h"

    @admin.action(description="Start the selected streams' sources")
    def start_sources(self, request: HttpRequest, queryset: QuerySet[Stream]) -> None:
        refused = announce_running(request, queryset, True)
        self.message_user(request, f"Started {queryset.count() - len(refused)} stream(s).")
        for refusal in refused:
            self.message_user(request, f"Not started: {refusal}", messages.ERROR)

    @admin.action(description="Stop the selected streams' sources")
    def stop_sources(self, request: HttpRequest, queryset: QuerySet[Stream]) -> None:
        announce_running(request, queryset, False)
        self.message_user(request, f"Stopped {queryset.count()} stream(s).")

    def save_model(self, request: HttpRequest, obj: Stream, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        if change and "running" in form.changed_data:
            announce_running(request, Stream.objects.filter(pk=obj.pk), obj.running)


class RecentFilter(admin.SimpleListFilter):
    title = "time"
    parameter_name = "within"
    WINDOWS = {"1m": 60, "1h": 3600, "1d": 86400, "7d": 7 * 86400}

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [
            ("1m", "Last minute"),
            ("1h", "Last hour"),
            ("1d", "Last day"),
            ("7d", "Last 7 days"),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Sample]) -> QuerySet[Sample]:
        # Read as a seq bound per stream by the list (SampleKeysetChangeList): a time
        # filter on the (stream, seq) walk would pass over every older sample.
        seconds = self.WINDOWS.get(self.value() or "")
        request.sample_since = None if seconds is None else int((time.time() - seconds) * 1000)
        return queryset


class SampleKeysetChangeList(ChangeList):
    """The sample list newest first by time, a page at a time, never counting, never OFFSET.

    Each page continues from where the last one stopped (`?after=<t>.<stream id>.<seq>`):
    every listed stream gives its newest samples before that point (an index range
    with a LIMIT, through the one reader), and the page is the newest of them. A
    page costs one bounded read per stream, whatever the history's size or the
    page's depth; filtering by stream makes it one read.
    """

    def get_results(self, request: HttpRequest) -> None:
        page = self._page(
            getattr(request, "sample_after", None), getattr(request, "sample_since", None)
        )
        self.has_more = len(page) > self.list_per_page
        self.result_list = page[: self.list_per_page]
        last = self.result_list[-1] if self.result_list else None
        self.next_after = (
            f"{last.t}.{last.stream_id}.{last.seq}" if self.has_more and last else None
        )
        self.result_count = len(self.result_list)
        self.full_result_count = None
        self.show_full_result_count = False
        self.show_admin_actions = False
        self.can_show_all = False
        self.multi_page = False
        self.paginator = self.model_admin.get_paginator(request, self.queryset, self.list_per_page)

    def _page(self, after: tuple[int, int, int] | None, since: int | None) -> list[Sample]:
        """Return one page and one more sample, ordered by (t, stream, seq), newest first.

        A stream's t never goes back as its seq grows (producers stamp in order,
        ingest refuses the past), so its newest-by-seq are its newest by time.
        """
        wanted = self.list_per_page + 1
        streams = Stream.objects.order_by("-pk")
        chosen = self.params.get("stream__id__exact")
        if chosen is not None:
            chosen_id = chosen[-1] if isinstance(chosen, list) else chosen
            streams = streams.filter(pk=int(chosen_id) if str(chosen_id).isdigit() else 0)
        page: list[Sample] = []
        for stream in streams:
            end, before = None, None
            if after is not None:
                t, stream_id, seq = after
                # Samples at the position's t come before it in streams of higher id.
                end = t if stream.pk > stream_id else t + 1
                before = seq if stream.pk == stream_id else None
            page += [
                Sample(stream=stream, seq=seq, t=t, values=values, flags=list(flags))
                for seq, t, values, flags in samples_read(
                    stream.pk,
                    before_seq=before,
                    start=since,
                    end=end,
                    limit=wanted,
                    newest_first=True,
                )
            ]
        page.sort(key=lambda sample: (sample.t, sample.stream_id, sample.seq), reverse=True)
        return page[:wanted]

    def next_page_url(self) -> str | None:
        """Return the URL of the next page, with the filters kept."""
        if not self.next_after:
            return None
        return self.get_query_string({AFTER: self.next_after})


AFTER = "after"


def parse_after(text: str) -> tuple[int, int, int] | None:
    """Return (t, stream id, seq) from `after`'s "<t>.<stream id>.<seq>", or None when it is not that."""
    parts = text.split(".")
    if len(parts) != 3 or not parts[0].removeprefix("-").isdigit():
        return None
    if not (parts[1].isdigit() and parts[2].isdigit()):
        return None
    return int(parts[0]), int(parts[1]), int(parts[2])


@admin.register(Sample)
class SampleAdmin(admin.ModelAdmin):
    list_display = ["stream", "seq", "sample_time", "values", "flags"]
    list_display_links = None  # samples are read, never changed: no change page to link
    list_filter = ["stream", RecentFilter]
    list_select_related = ["stream"]
    # Newest first by time across streams (SampleKeysetChangeList merges each stream's newest).
    ordering = ["-t"]
    sortable_by: list[str] = []  # another order would need OFFSET or a sort of the table
    show_full_result_count = False
    change_list_template = "admin/streams/sample/change_list.html"

    @admin.display(description="time (UTC)")
    def sample_time(self, sample: Sample) -> str:
        """Return the sample's time as people read it; `t` (epoch ms) is in its title."""
        moment = datetime.fromtimestamp(sample.t / 1000, tz=UTC)
        return format_html(
            '<time datetime="{}" title="t = {}">{}</time>',
            moment.isoformat(timespec="milliseconds"),
            sample.t,
            moment.strftime("%Y-%m-%d %H:%M:%S.") + f"{moment.microsecond // 1000:03d}",
        )

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        return SampleKeysetChangeList

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> Any:
        # The page's position is not a filter: take it out before the list reads the query.
        after = request.GET.get(AFTER)
        if after is not None:
            request.GET = request.GET.copy()
            del request.GET[AFTER]
            request.sample_after = parse_after(after)
        return super().changelist_view(request, extra_context)

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        return {}

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(StreamLease)
class StreamLeaseAdmin(admin.ModelAdmin):
    list_display = ["stream", "holder", "expires_ms"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ["prefix", "user", "name", "created", "last_used"]
    search_fields = ["user__username", "name", "prefix"]
    fields = ["user", "name"]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: ApiToken, form: Any, change: bool) -> None:
        row, token = ApiToken.objects.issue(user=obj.user, name=obj.name)
        obj.pk = row.pk
        self.message_user(
            request,
            f"New token for {obj.user}: {token} — copy it now, it is not shown again.",
            messages.WARNING,
        )
