"""Blocks give back every sample bit for bit: seq, t, each value with its type, the flags, the order."""

from __future__ import annotations

import math
import struct
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streams.history.codec import StoredSample, block_encode, block_samples, block_table

EDGE_FLOATS = [0.0, -0.0, math.nan, math.inf, -math.inf, 1e300, -1e300, 5e-324, 0.1, 21.37]


def exact(value: Any) -> Any:
    """Return a value in a form that compares its float bits and every type, nested."""
    if isinstance(value, float):
        return ("float", struct.pack("<d", value))
    if isinstance(value, dict):
        return ("dict", [(key, exact(item)) for key, item in value.items()])
    if isinstance(value, list | tuple):
        return ("list", [exact(item) for item in value])
    return (type(value).__name__, value)


def round_trip(samples: list[StoredSample]) -> list[StoredSample]:
    return block_samples(block_table(block_encode(samples)))


def assert_same(samples: list[StoredSample], back: list[StoredSample]) -> None:
    assert len(back) == len(samples)
    for (seq, t, values, flags), (seq2, t2, values2, flags2) in zip(samples, back, strict=True):
        assert (seq2, t2) == (seq, t)
        assert exact(values2) == exact(values)
        assert list(flags2) == list(flags)


# Values arrive as JSON (pushed, or read back from rows), so a NaN is the one NaN JSON has.
floats = st.floats(allow_nan=True, allow_infinity=True).map(
    lambda value: math.nan if math.isnan(value) else value
)
scalars = st.one_of(
    floats,
    st.sampled_from(EDGE_FLOATS),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.text(max_size=12),
    st.booleans(),
    st.none(),
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner),
    max_leaves=5,
)
field_names = st.sampled_from(["temperature", "humidity", "state", "a:b", "values", "seq"])


@st.composite
def sample_runs(draw: Any, values: st.SearchStrategy[Any]) -> list[StoredSample]:
    count = draw(st.integers(min_value=1, max_value=40))
    seq = draw(st.integers(min_value=1, max_value=2**62))
    t = draw(st.integers(min_value=-(2**40), max_value=2**50))
    samples: list[StoredSample] = []
    for index in range(count):
        fields = draw(st.dictionaries(field_names, values, max_size=4))
        flags = draw(st.lists(st.text(min_size=1, max_size=8), max_size=2))
        step = draw(st.integers(min_value=0, max_value=5000))
        samples.append((seq + index, t + index * step, fields, flags))
    return samples


@settings(max_examples=60, deadline=None)
@given(sample_runs(json_values))
def test_any_values_come_back_bit_for_bit(samples: list[StoredSample]) -> None:
    assert_same(samples, round_trip(samples))


@settings(max_examples=60, deadline=None)
@given(sample_runs(floats | st.sampled_from(EDGE_FLOATS)))
def test_float_fields_come_back_bit_for_bit(samples: list[StoredSample]) -> None:
    assert_same(samples, round_trip(samples))


@settings(max_examples=60, deadline=None)
@given(
    sample_runs(
        st.integers(min_value=-(10**8), max_value=10**8).map(lambda n: n / 100)
        | st.integers(min_value=-(10**9), max_value=10**9).map(lambda n: round(n / 1e6, 6))
    )
)
def test_few_decimals_come_back_bit_for_bit(samples: list[StoredSample]) -> None:
    assert_same(samples, round_trip(samples))


def test_a_sensor_to_two_decimals_costs_under_two_bytes_a_value() -> None:
    samples: list[StoredSample] = [
        (
            seq,
            1_700_000_000_000 + 1000 * seq,
            {"temperature": round(21 + math.sin(seq / 50), 2)},
            [],
        )
        for seq in range(1, 10_001)
    ]
    data = block_encode(samples)
    assert len(data) / len(samples) < 2
    assert_same(samples, round_trip(samples))


def test_negative_zero_nan_and_infinities_keep_their_bits_beside_decimals() -> None:
    edges = [-0.0, math.nan, math.inf, -math.inf, 1e300, 21.5]
    samples: list[StoredSample] = [
        (seq, seq, {"value": value, "steady": 1.25}, []) for seq, value in enumerate(edges, 1)
    ]
    assert_same(samples, round_trip(samples))


def test_fields_in_differing_orders_keep_each_samples_order() -> None:
    samples: list[StoredSample] = [
        (1, 1, {"a": 1.5, "b": "x"}, []),
        (2, 2, {"b": "y", "a": 2.5}, ["late"]),
        (3, 3, {}, []),
    ]
    back = round_trip(samples)
    assert [list(values) for _, _, values, _ in back] == [["a", "b"], ["b", "a"], []]
    assert_same(samples, back)


def test_a_missing_field_differs_from_a_null_one() -> None:
    samples: list[StoredSample] = [(1, 1, {"a": None}, []), (2, 2, {}, []), (3, 3, {"a": 1.5}, [])]
    back = round_trip(samples)
    assert [values for _, _, values, _ in back] == [{"a": None}, {}, {"a": 1.5}]


def test_a_block_of_an_unknown_kind_is_refused_by_name() -> None:
    import pyarrow as pa

    from streams.history.codec import parquet_bytes

    data = parquet_bytes(pa.table({"seq": [1], "t": [1], "complex:z": [1.0]}))
    with pytest.raises(ValueError, match="complex:z"):
        block_table(data)
