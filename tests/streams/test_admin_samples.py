"""The admin's sample list: newest first by time across streams, never a COUNT, never OFFSET."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from streams.history.store import history_append
from streams.messages import sample_frame
from streams.models import Stream
from tests.support.factories import make_stream
from tests.support.samples import EPOCH_MS
from tests.support.web import logged_in

pytestmark = pytest.mark.django_db

URL = "/admin/streams/sample/"
NEXT = re.compile(r'href="(\?[^"]*after=[^"]+)" class="next-page"')


def listed_seqs(html: str) -> list[int]:
    return [int(seq) for seq in re.findall(r'<td class="field-seq">(\d+)</td>', html)]


def test_it_pages_newest_first_by_seq_without_counting_or_offsets(
    admin_user: Any, lab_stream: Stream
) -> None:
    client = logged_in(admin_user)
    url = f"{URL}?stream__id__exact={lab_stream.pk}"
    seen: list[int] = []
    pages = 0
    while url:
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url if url.startswith("/") else URL + url)
        assert response.status_code == 200
        html = response.content.decode()
        sql = " ".join(query["sql"].upper() for query in queries.captured_queries)
        assert "OFFSET" not in sql and "COUNT(" not in sql.replace("COUNT(*) AS", "")
        seen.extend(listed_seqs(html))
        match = NEXT.search(html)
        url = match[1].replace("&amp;", "&") if match else ""
        pages += 1
    assert seen == list(range(1200, 0, -1))  # lab_stream's 1,200 samples, each once
    assert pages == 12


def test_a_bad_position_shows_the_first_page(admin_user: Any, lab_stream: Stream) -> None:
    response = logged_in(admin_user).get(f"{URL}?after=nonsense")
    assert response.status_code == 200
    assert listed_seqs(response.content.decode())[0] == 1200


def test_samples_of_several_streams_follow_one_another(admin_user: Any, lab_stream: Stream) -> None:
    other = make_stream("zz.other", title="Other")
    history_append({other.pk: [sample_frame(i, EPOCH_MS + i, {"v": i}) for i in range(1, 6)]})
    client = logged_in(admin_user)
    url, seen = URL, 0
    while url:
        html = client.get(url).content.decode()
        seen += len(listed_seqs(html))
        match = NEXT.search(html)
        url = URL + match[1].replace("&amp;", "&") if match else ""
    assert seen == 1205


def listed_rows(html: str) -> list[tuple[str, int]]:
    """(stream slug, seq) of each listed sample, top to bottom."""
    return [
        (title, int(seq))
        for title, seq in re.findall(
            r'<t[hd] class="field-stream[^"]*">(?:<a [^>]*>)?([^<]+)(?:</a>)?</t[hd]>'
            r'<td class="field-seq">(\d+)</td>',
            html,
        )
    ]


def test_samples_of_several_streams_are_listed_newest_first_by_time(admin_user: Any) -> None:
    early, late = make_stream("aa.early", title="Early"), make_stream("zz.late", title="Late")
    # Interleaved in time: Early at 0, 20, 40 ... ms, Late at 10, 30, 50 ...; 150 samples each.
    history_append(
        {
            early.pk: [sample_frame(i, EPOCH_MS + 20 * i, {"v": i}) for i in range(1, 151)],
            late.pk: [sample_frame(i, EPOCH_MS + 20 * i + 10, {"v": i}) for i in range(1, 151)],
        }
    )
    client = logged_in(admin_user)
    url, rows = URL, []
    while url:
        html = client.get(url).content.decode()
        rows += listed_rows(html)
        match = NEXT.search(html)
        url = URL + match[1].replace("&amp;", "&") if match else ""
    expected = [(title, i) for i in range(150, 0, -1) for title in ("zz.late", "aa.early")]
    assert rows == expected


def test_samples_at_the_same_moment_in_two_streams_are_each_listed_once(admin_user: Any) -> None:
    one, two = make_stream("aa.one", title="One"), make_stream("aa.two", title="Two")
    # 101 samples per stream at one t: a page ends inside the tie.
    history_append(
        {
            one.pk: [sample_frame(i, EPOCH_MS, {"v": i}) for i in range(1, 102)],
            two.pk: [sample_frame(i, EPOCH_MS, {"v": i}) for i in range(1, 102)],
        }
    )
    client = logged_in(admin_user)
    url, rows = URL, []
    while url:
        html = client.get(url).content.decode()
        rows += listed_rows(html)
        match = NEXT.search(html)
        url = URL + match[1].replace("&amp;", "&") if match else ""
    assert sorted(rows) == sorted(
        [(slug, i) for slug in ("aa.one", "aa.two") for i in range(1, 102)]
    )
    assert len(rows) == 202


def test_a_listed_sample_links_nowhere(admin_user: Any, lab_stream: Stream) -> None:
    html = logged_in(admin_user).get(URL).content.decode()
    assert listed_seqs(html)
    assert "/None/change/" not in html


def test_the_time_filter_lists_only_recent_samples(admin_user: Any, lab_stream: Stream) -> None:
    recent = make_stream("aa.recent", title="Recent")
    now = int(time.time() * 1000)
    history_append({recent.pk: [sample_frame(i, now - 1000 + i, {"v": i}) for i in range(1, 4)]})
    html = logged_in(admin_user).get(f"{URL}?within=1h").content.decode()
    assert listed_seqs(html) == [3, 2, 1]  # none of lab_stream's, all from 2023
