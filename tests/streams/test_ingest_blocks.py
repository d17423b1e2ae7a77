"""Large pushes go straight into compressed blocks; every sample comes back as it was pushed.

A batch of `PULSEBOARD_BLOCK_BATCH_SAMPLES` or more is stored as one block (with
the stream's newest row before it) and its last sample as a row, so the
highest stored seq stays a row; rollups are computed column-wise. Smaller
pushes stay rows until compaction, whose runs end before a pushed block.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from streams.history.compaction import Cutoffs, stream_compact
from streams.history.reader import samples_read
from streams.history.rollups import MINUTE, SECOND
from streams.models import Rollup, Sample, SampleBlock, Stream
from streams.producer.ingest import _rows_checked, _rows_plain
from streams.producer.values import IngestError
from tests.support.factories import make_stream
from tests.support.samples import EPOCH_MS, EVERYTHING, stored_samples
from tests.support.web import INGEST, post_json, token_client

pytestmark = pytest.mark.django_db(transaction=True)


def pushed(first: int, count: int) -> list[dict[str, Any]]:
    """Samples as a script pushes them: a sine to 6 decimals, some text, now and then flags."""
    samples: list[dict[str, Any]] = []
    for i in range(first, first + count):
        sample: dict[str, Any] = {
            "t": EPOCH_MS + 7 * i,
            "values": {"value": round(math.sin(i / 50), 6), "label": f"run {i // 400}"},
        }
        if i % 97 == 0:
            sample["flags"] = ["spike"]
        samples.append(sample)
    return samples


def push(token: str, samples: list[dict[str, Any]]) -> Any:
    response = post_json(token_client(token), INGEST, {"samples": samples})
    assert response.status_code == 201, response.content
    return response.json()


def as_stored(samples: list[dict[str, Any]]) -> list[tuple[int, int, dict, list[str]]]:
    return [
        (seq, sample["t"], sample["values"], sample.get("flags", []))
        for seq, sample in enumerate(samples, 1)
    ]


def block_ranges(stream: Stream) -> list[tuple[int, int]]:
    return list(
        SampleBlock.objects.filter(stream=stream)
        .order_by("first_seq")
        .values_list("first_seq", "last_seq")
    )


def row_seqs(stream: Stream) -> list[int]:
    return list(Sample.objects.filter(stream=stream).order_by("seq").values_list("seq", flat=True))


@pytest.fixture
def mixed_pushes(owner_token: str, push_stream: Stream) -> list[dict[str, Any]]:
    """Two large pushes, a small one, a large one: 4,507 samples."""
    batches = [pushed(1, 1500), pushed(1501, 1500), pushed(3001, 7), pushed(3008, 1500)]
    answers = [push(owner_token, batch) for batch in batches]
    assert [(a["first"], a["last"]) for a in answers] == [
        (1, 1500),
        (1501, 3000),
        (3001, 3007),
        (3008, 4507),
    ]
    return [sample for batch in batches for sample in batch]


def test_large_pushes_become_blocks_that_meet_and_read_back_exactly(
    push_stream: Stream, mixed_pushes: list[dict[str, Any]]
) -> None:
    # Each large push took the row before it into its block and left its last sample a row.
    assert block_ranges(push_stream) == [(1, 1499), (1500, 2999), (3007, 4506)]
    assert row_seqs(push_stream) == [*range(3000, 3007), 4507]
    assert stored_samples(push_stream) == as_stored(mixed_pushes)
    newest = samples_read(push_stream.pk, limit=EVERYTHING, newest_first=True)
    assert [seq for seq, *_ in newest] == list(range(4507, 0, -1))


def test_rollups_of_pushed_blocks_equal_the_samples(
    push_stream: Stream, mixed_pushes: list[dict[str, Any]]
) -> None:
    for width in (SECOND, MINUTE):
        expected: dict[int, list[Any]] = {}
        flags: dict[int, int] = {}
        for sample in mixed_pushes:
            start = sample["t"] - sample["t"] % width
            value = sample["values"]["value"]
            stats = expected.setdefault(start, [value, value, 0.0, 0, value, value])
            stats[0], stats[1] = min(stats[0], value), max(stats[1], value)
            stats[2] += value
            stats[3] += 1
            stats[5] = value
            if sample.get("flags"):
                flags[start] = flags.get(start, 0) + 1
        rollups = dict(
            Rollup.objects.filter(stream=push_stream, tier=width).values_list("start", "stats")
        )
        assert sorted(rollups) == sorted(expected)
        for start, (low, high, total, count, first, last) in expected.items():
            stats = rollups[start]
            assert stats["value"][0:2] == [low, high]
            assert stats["value"][2] == pytest.approx(total, rel=1e-12, abs=1e-12)
            assert stats["value"][3:] == [count, first, last]
            assert stats.get("#flags", {}).get("spike", 0) == flags.get(start, 0)
            assert "label" not in stats  # text stays out of the statistics


def test_compaction_moves_the_rows_between_pushed_blocks_and_keeps_each_seq_once(
    push_stream: Stream, mixed_pushes: list[dict[str, Any]]
) -> None:
    moved = stream_compact(push_stream.pk, Cutoffs(hot=EVERYTHING, partial=EVERYTHING))
    assert moved == 7
    ranges = block_ranges(push_stream)
    assert ranges == [(1, 1499), (1500, 2999), (3000, 3006), (3007, 4506)]
    assert row_seqs(push_stream) == [4507]
    assert stored_samples(push_stream) == as_stored(mixed_pushes)


def test_a_push_after_a_large_one_goes_on_from_its_last_seq(
    owner_token: str, push_stream: Stream
) -> None:
    push(owner_token, pushed(1, 2000))
    # A small push, then a stale writer's seq: the newest row is still the fence.
    assert push(owner_token, pushed(2001, 3))["first"] == 2001
    assert Sample.objects.filter(stream=push_stream).order_by("-seq").first().seq == 2003


def test_below_the_setting_a_push_stays_rows(
    owner_token: str, push_stream: Stream, settings: Any
) -> None:
    settings.PULSEBOARD_BLOCK_BATCH_SAMPLES = 0
    push(owner_token, pushed(1, 1500))
    assert block_ranges(push_stream) == []
    assert len(row_seqs(push_stream)) == 1500


# -- the fast check of a batch never accepts what the careful one refuses ---------

NOW = EPOCH_MS
SKEW = 5 * 60_000
# Values at and past every edge a field has, one of which a sample may carry.
EDGE_VALUES: list[Any] = [
    1e300,
    -1e300,
    1.0000000000000002e300,
    -(10**300),
    10**301,
    2**70,
    math.nan,
    math.inf,
    -math.inf,
    -0.0,
    True,
    False,
    None,
    [],
    {},
    "",
    "x" * 200,
    "x" * 201,
    "21.5",
    7,
    0.25,
]
EDGE_FLAGS: list[Any] = [
    None,
    3,
    "spike",
    [],
    [""],
    ["x" * 40],
    ["x" * 41],
    ["a"] * 8,
    ["a"] * 9,
    [1],
    [None],
]
EDGE_TIMES: list[Any] = [-1, 0, True, 1.5, "1", None, NOW + SKEW, NOW + SKEW + 1, NOW - 1, 2**70]


@st.composite
def batches(draw: Any) -> tuple[list[Any], dict[str, str]]:
    """A batch a stream would store, with at most two samples changed at one edge each."""
    types = draw(
        st.sampled_from(
            [{}, {"value": "number", "label": "text"}, {"value": "number", "c": "ohlc"}]
        )
    )
    count = draw(st.integers(1, 5))
    times = sorted(draw(st.lists(st.integers(0, NOW), min_size=count, max_size=count)))
    batch: list[Any] = []
    for t in times:
        sample: dict[str, Any] = {"values": {"value": draw(st.floats(-1e6, 1e6))}}
        if draw(st.booleans()):
            sample["t"] = t
        if draw(st.booleans()):
            sample["values"]["label"] = draw(st.text(max_size=5))
        if draw(st.booleans()):
            sample["flags"] = draw(st.lists(st.text(min_size=1, max_size=40), max_size=8))
        batch.append(sample)
    for _ in range(draw(st.integers(0, 2))):
        index = draw(st.integers(0, count - 1))
        sample = batch[index]
        if not isinstance(sample, dict) or not isinstance(sample.get("values"), dict):
            continue  # changed already past what another change could reach
        change = draw(st.sampled_from(["value", "name", "values", "flags", "t", "key", "sample"]))
        if change == "value":
            name = draw(st.sampled_from(["value", "label", "c"]))
            sample["values"][name] = draw(st.sampled_from(EDGE_VALUES))
        elif change == "name":
            sample["values"][draw(st.sampled_from(["other", "c"]))] = 1
        elif change == "values":
            sample["values"] = draw(st.sampled_from([None, {}, [], "v", 1]))
        elif change == "flags":
            sample["flags"] = draw(st.sampled_from(EDGE_FLAGS))
        elif change == "t":
            sample["t"] = draw(st.sampled_from(EDGE_TIMES))
        elif change == "key":
            sample[draw(st.sampled_from(["extra", "seq"]))] = 1
        else:
            batch[index] = draw(st.sampled_from([None, 1, "s", [sample]]))
    return batch, types


@hypothesis_settings(max_examples=500, deadline=None)
@given(case=batches())
def test_the_fast_check_accepts_only_what_the_careful_one_accepts(
    case: tuple[list[Any], dict[str, str]],
) -> None:
    batch, types = case
    stream = Stream(slug="push.check")
    plain = _rows_plain(batch, types=types, now=NOW)
    try:
        checked = _rows_checked(batch, stream=stream, types=types, now=NOW)
    except IngestError:
        assert plain is None
        return
    assert plain == checked  # what both accept: the same rows, and plain took it


def edge_cases() -> list[tuple[str, Any]]:
    """Every single change at an edge a batch of two plain samples can take."""
    cases: list[tuple[str, Any]] = []
    cases += [
        (f"values.{name}", value) for name in ("value", "label", "c") for value in EDGE_VALUES
    ]
    cases += [("values.other", 1), ("values", None), ("values", {}), ("values", [1]), ("values", 1)]
    cases += [("flags", flags) for flags in EDGE_FLAGS] + [("t", t) for t in EDGE_TIMES]
    cases += [("extra", 1), ("seq", 1), ("sample", None), ("sample", [1]), ("sample", "s")]
    return cases


def changed(case: tuple[str, Any], index: int) -> list[Any]:
    where, value = case
    batch: list[Any] = [
        {"t": NOW - 2, "values": {"value": 1.5, "label": "a"}},
        {"t": NOW - 1, "values": {"value": 2}, "flags": ["ok"]},
    ]
    sample = batch[index]
    if where.startswith("values."):
        sample["values"][where.removeprefix("values.")] = value
    elif where == "sample":
        batch[index] = value
    else:
        sample[where] = value
    return batch


@pytest.mark.parametrize(
    "types", [{}, {"value": "number", "label": "text"}, {"value": "number", "c": "ohlc"}]
)
def test_at_every_edge_the_fast_check_agrees_with_the_careful_one(types: dict[str, str]) -> None:
    stream = Stream(slug="push.check")
    disagree = []
    for case, index in itertools.product(edge_cases(), (0, 1)):
        batch = changed(case, index)
        plain = _rows_plain(batch, types=types, now=NOW)
        try:
            checked = _rows_checked(batch, stream=stream, types=types, now=NOW)
        except IngestError:
            checked = None
        if plain != checked:
            disagree.append((case, index))
    assert disagree == []


def test_the_fast_check_takes_a_plain_batch(push_stream: Stream) -> None:
    batch = [*pushed(1, 100), {"values": {"value": 2}}]
    types = {"value": "number", "label": "text"}
    rows = _rows_plain(batch, types=types, now=EPOCH_MS + 10**6)
    assert rows is not None
    assert rows == _rows_checked(batch, stream=push_stream, types=types, now=EPOCH_MS + 10**6)


def test_a_stream_of_any_fields_stores_large_pushes_too(owner: Any, owner_token: str) -> None:
    stream = make_stream("push.alice", owner=owner, fields=[])
    batch = [
        {"t": EPOCH_MS + i, "values": {"n": i, "x": i / 4, "s": "ok"} if i % 2 else {"n": -i}}
        for i in range(1200)
    ]
    push(owner_token, batch)
    assert [values for _, _, values, _ in stored_samples(stream)] == [
        sample["values"] for sample in batch
    ]
