"""The built-in sources: ranges, rates, flags and settings, on a simulated clock."""

from __future__ import annotations

import itertools
import random
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from streams.history.samples import history_page
from streams.history.store import history_append
from streams.messages import sample_frame
from streams.sources import SOURCES, Reading, Source, source_create, source_settings_errors
from streams.sources.base import ClockedSource, bounded_walk
from streams.sources.business import LABELS
from tests.support.factories import make_stream
from tests.support.samples import EPOCH_MS, samples_make

SEEDS = [1, 2, 3]
GENERATED = ["anomaly", "business", "market", "sensor", "sine", "system"]


def run_clock(
    source: Source, *, start_ms: int = 0, end_ms: int, step_ms: int = 50
) -> list[Reading]:
    """Return every reading due in [start_ms, end_ms), polling like the producer's ticks."""
    readings = []
    for now in range(start_ms, end_ms, step_ms):
        readings += source.poll(now)
    readings += source.poll(end_ms - 1)
    return readings


def reads(
    kind: str, count: int, seed: int, settings: dict[str, Any] | None = None
) -> list[Reading]:
    """Return `count` consecutive readings of a seeded source."""
    source = source_create(kind, settings or {}, rng=random.Random(seed))
    assert isinstance(source, ClockedSource)
    return [source.read(1000 * i) for i in range(count)]


# -- sensor -----------------------------------------------------------------


@pytest.mark.parametrize("seed", SEEDS)
def test_sensor_stays_in_its_documented_ranges(seed: int) -> None:
    for reading in reads("sensor", 5000, seed):
        assert 18 <= reading.values["temperature"] <= 28
        assert 30 <= reading.values["humidity"] <= 80
        assert 1000 <= reading.values["pressure"] <= 1020


def test_sensor_walks_in_small_steps_rather_than_jumping() -> None:
    readings = reads("sensor", 2000, seed=7)
    for before, after in itertools.pairwise(readings):
        assert abs(after.values["temperature"] - before.values["temperature"]) <= 0.3 + 0.01
        assert abs(after.values["humidity"] - before.values["humidity"]) <= 1.0 + 0.01
    temperatures = {r.values["temperature"] for r in readings}
    assert max(temperatures) - min(temperatures) > 2, "a walk should wander"


def test_sensor_reads_at_random_intervals_between_half_a_second_and_two() -> None:
    source = source_create("sensor", {}, rng=random.Random(1))
    readings = run_clock(source, end_ms=600_000)
    gaps = [b.t - a.t for a, b in itertools.pairwise(readings)]
    assert all(500 <= gap <= 2000 for gap in gaps)
    assert len(set(gaps)) > 50, "intervals should vary"
    assert 300 <= len(readings) <= 1201


def test_sensor_honours_its_interval_settings() -> None:
    source = source_create("sensor", {"min_interval": 0.1, "max_interval": 0.1})
    assert len(run_clock(source, end_ms=10_000)) == 100


# -- system -----------------------------------------------------------------


def test_system_reads_this_hosts_percentages_and_rates() -> None:
    source = source_create("system", {})
    readings = run_clock(source, end_ms=3000, step_ms=250)
    assert [r.t for r in readings] == [0, 1000, 2000]
    for reading in readings:
        for name in ("cpu", "memory", "disk"):
            assert 0 <= reading.values[name] <= 100
        assert reading.values["memory"] > 0
        assert reading.values["net_sent"] >= 0
        assert reading.values["net_recv"] >= 0


def test_system_reads_at_its_interval() -> None:
    source = source_create("system", {"interval": 0.5})
    assert len(run_clock(source, end_ms=5000, step_ms=100)) == 10


# -- sine -------------------------------------------------------------------


def test_sine_at_1000_per_second_gives_1000_readings_a_second() -> None:
    source = source_create("sine", {"rate": 1000})
    readings = run_clock(source, start_ms=5000, end_ms=6000)
    assert len(readings) == 1000
    times = [r.t for r in readings]
    assert all(a < b for a, b in itertools.pairwise(times))
    assert times[0] == 5000 and times[-1] == 5999


def test_sine_at_a_rate_that_does_not_divide_a_second() -> None:
    source = source_create("sine", {"rate": 3})
    readings = run_clock(source, end_ms=10_000)
    assert len(readings) == 30


def test_sine_follows_its_frequency_and_amplitude() -> None:
    source = source_create("sine", {"frequency": 1.0, "amplitude": 2.5, "rate": 1000})
    by_t = {r.t: r.values["value"] for r in run_clock(source, end_ms=1000)}
    assert by_t[0] == 0
    assert by_t[250] == 2.5
    assert by_t[750] == -2.5
    assert all(-2.5 <= value <= 2.5 for value in by_t.values())


# -- anomaly ----------------------------------------------------------------


@pytest.mark.parametrize("seed", SEEDS)
def test_anomaly_flags_exactly_the_samples_more_than_15_from_the_base(seed: int) -> None:
    readings = reads("anomaly", 20_000, seed)
    for reading in readings:
        value = reading.values["value"]
        assert 25 <= value <= 75
        assert ("anomaly" in reading.flags) == (abs(value - 50) > 15), reading
    flagged = sum(1 for r in readings if r.flags)
    assert 0.08 * len(readings) < flagged < 0.12 * len(readings)


def test_anomaly_jumps_about_one_sample_in_ten_both_ways() -> None:
    readings = reads("anomaly", 20_000, seed=4)
    up = sum(1 for r in readings if r.values["value"] > 55)
    down = sum(1 for r in readings if r.values["value"] < 45)
    assert 0.04 * len(readings) < up < 0.06 * len(readings)
    assert 0.04 * len(readings) < down < 0.06 * len(readings)


def test_anomaly_flag_agrees_with_the_value_a_user_sees_near_the_threshold() -> None:
    settings = {"noise": 10.0, "threshold": 5.0, "jump_probability": 0.0}
    for reading in reads("anomaly", 100_000, seed=1, settings=settings):
        value = reading.values["value"]
        assert ("anomaly" in reading.flags) == (abs(value - 50) > 5), reading


def test_anomaly_reads_once_a_second() -> None:
    source = source_create("anomaly", {})
    assert len(run_clock(source, end_ms=60_000)) == 60


# -- business ---------------------------------------------------------------


@pytest.mark.parametrize("seed", SEEDS)
def test_business_gives_values_from_1_to_100_under_known_labels(seed: int) -> None:
    readings = reads("business", 2000, seed)
    for reading in readings:
        assert isinstance(reading.values["value"], int)
        assert 1 <= reading.values["value"] <= 100
        assert reading.values["label"] in ("Sales", "Users", "Requests", "Views")
    assert {r.values["label"] for r in readings} == set(LABELS)
    assert {r.values["value"] for r in readings} >= {1, 100}


def test_business_reads_every_two_seconds() -> None:
    source = source_create("business", {})
    assert len(run_clock(source, end_ms=60_000)) == 30


# -- market -----------------------------------------------------------------


def assert_sane_book(book: dict[str, list[list[float]]], levels: int = 10) -> None:
    bids, asks = book["bids"], book["asks"]
    assert len(bids) >= levels and len(asks) >= levels
    bid_prices = [price for price, _ in bids]
    ask_prices = [price for price, _ in asks]
    assert bid_prices == sorted(bid_prices, reverse=True) and len(set(bid_prices)) == len(bids)
    assert ask_prices == sorted(ask_prices) and len(set(ask_prices)) == len(asks)
    assert bid_prices[0] < ask_prices[0]
    assert all(price > 0 for price in bid_prices)
    assert all(size > 0 for _, size in bids + asks)


@pytest.mark.parametrize("seed", SEEDS)
def test_market_book_has_ten_sorted_levels_with_bids_below_asks(seed: int) -> None:
    for reading in reads("market", 500, seed):
        assert_sane_book(reading.values["book"])
        bids, asks = reading.values["book"]["bids"], reading.values["book"]["asks"]
        assert bids[0][0] <= reading.values["price"] <= asks[0][0]


def test_market_book_depth_follows_the_levels_setting() -> None:
    (reading,) = reads("market", 1, seed=1, settings={"levels": 25})
    assert len(reading.values["book"]["bids"]) == len(reading.values["book"]["asks"]) == 25


def test_market_ticker_and_trades_add_up() -> None:
    readings = reads("market", 1000, seed=5, settings={"start_price": 100.0})
    volumes = [r.values["volume"] for r in readings]
    assert all(a < b for a, b in itertools.pairwise(volumes))
    for reading in readings:
        values = reading.values
        assert values["change"] == pytest.approx(values["price"] - 100.0, abs=0.011)
        assert values["change_pct"] == pytest.approx(values["change"], abs=0.011)
        assert values["trade"]["price"] == values["price"]
        assert values["trade"]["size"] > 0
        assert values["trade"]["side"] in ("buy", "sell")
    assert {r.values["trade"]["side"] for r in readings} == {"buy", "sell"}
    assert len({r.values["price"] for r in readings}) > 100, "the price should move"


def test_market_ticks_ten_times_a_second() -> None:
    source = source_create("market", {})
    readings = run_clock(source, end_ms=1000)
    assert len(readings) == 10
    assert [r.t for r in readings] == list(range(0, 1000, 100))


def test_market_book_stays_sorted_with_a_tick_below_a_cent() -> None:
    (reading,) = reads("market", 1, seed=1, settings={"tick_size": 0.001, "start_price": 1.5})
    assert_sane_book(reading.values["book"])


def test_market_book_has_no_negative_prices_for_a_cheap_instrument() -> None:
    (reading,) = reads("market", 1, seed=1, settings={"start_price": 0.5, "tick_size": 0.1})
    assert_sane_book(reading.values["book"])


# -- catching up after a stall ------------------------------------------------


def test_a_short_stall_is_caught_up_in_full() -> None:
    source = source_create("sine", {"rate": 1000})
    source.poll(0)
    readings = source.poll(3000)
    assert [r.t for r in readings] == list(range(1, 3001))


def test_a_long_stall_skips_ahead_instead_of_flooding() -> None:
    source = source_create("sine", {"rate": 1000})
    source.poll(0)
    readings = source.poll(60_000)
    assert len(readings) <= 5001
    assert readings[-1].t == 60_000
    after = source.poll(60_050)
    assert [r.t for r in after] == list(range(60_001, 60_051))


# -- settings ---------------------------------------------------------------


@pytest.mark.parametrize("kind", GENERATED)
def test_defaults_are_valid_settings(kind: str) -> None:
    assert source_settings_errors(kind, {}) == []
    defaults = {name: spec.default for name, spec in SOURCES[kind].settings_spec.items()}
    assert source_settings_errors(kind, defaults) == []


@pytest.mark.parametrize(
    ("kind", "source_settings", "error"),
    [
        ("sine", {"rate": "fast"}, "rate must be a number"),
        ("sine", {"rate": True}, "rate must be a number"),
        ("sine", {"rate": None}, "rate must be a number"),
        ("sine", {"rate": [1000]}, "rate must be a number"),
        ("sine", {"rate": 1500}, "rate must be between 1 and 1000"),
        ("sine", {"rate": 0}, "rate must be between 1 and 1000"),
        ("sine", {"rate": 2.5}, "rate must be a whole number"),
        ("sine", {"frequency": float("nan")}, "frequency must be between"),
        ("sine", {"amplitude": float("inf")}, "amplitude must be between"),
        ("sine", {"amplitude": -1}, "amplitude must be between 0"),
        ("sine", {"speed": 2}, "unknown setting 'speed'"),
        ("sensor", {"min_interval": 3, "max_interval": 1}, "min_interval must not exceed"),
        ("sensor", {"min_interval": 0.01}, "min_interval must be between 0.05 and 60"),
        ("anomaly", {"jump_probability": 1.5}, "jump_probability must be between 0 and 1"),
        ("anomaly", {"threshold": "15"}, "threshold must be a number"),
        ("business", {"interval": 0}, "interval must be between 0.01 and 3600"),
        ("market", {"levels": 5}, "levels must be between 10 and 50"),
        ("market", {"levels": 12.5}, "levels must be a whole number"),
        ("market", {"symbol": ""}, "symbol must be text"),
        ("market", {"symbol": 42}, "symbol must be text"),
        ("market", {"symbol": "X" * 41}, "symbol must be text of 1–40 characters"),
        ("system", {"disk_path": ""}, "disk_path must be text"),
        ("sensor", ["min_interval"], "settings must be an object"),
        ("sine", "rate=1000", "settings must be an object"),
        ("push", [], "settings must be an object"),
    ],
)
def test_it_names_what_is_wrong_with_settings(kind: str, source_settings: Any, error: str) -> None:
    errors = source_settings_errors(kind, source_settings)
    assert any(error in problem for problem in errors), errors


def test_it_lists_every_problem_at_once() -> None:
    errors = source_settings_errors("sine", {"rate": 1.5, "frequency": True, "colour": "red"})
    assert sorted(errors) == [
        "frequency must be a number",
        "rate must be a whole number",
        "unknown setting 'colour'",
    ]


def test_a_push_stream_takes_any_object_as_settings() -> None:
    assert source_settings_errors("push", {}) == []
    assert source_settings_errors("push", {"note": "from the greenhouse"}) == []


def test_a_source_refuses_to_start_with_bad_settings() -> None:
    with pytest.raises(ValueError, match="rate must be between 1 and 1000"):
        source_create("sine", {"rate": 5000})


def test_a_huge_whole_number_setting_is_an_error_not_a_crash() -> None:
    assert source_settings_errors("sine", {"rate": 10**400}) != []


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**64), max_value=2**64)
    | st.floats()
    | st.text(max_size=50),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=10), children, max_size=3)
    ),
    max_leaves=10,
)


@given(
    kind=st.sampled_from([*sorted(SOURCES), "push", "replay"]),
    source_settings=st.dictionaries(
        st.sampled_from(["rate", "frequency", "levels", "min_interval", "symbol", "x"]),
        json_values,
    )
    | json_values,
)
def test_settings_validation_answers_with_a_list_whatever_it_is_given(
    kind: str, source_settings: Any
) -> None:
    errors = source_settings_errors(kind, source_settings)
    assert isinstance(errors, list)
    assert all(isinstance(error, str) for error in errors)
    if not errors and kind in SOURCES:
        source_create(kind, source_settings)  # what validation accepts, a source runs with


@given(
    low=st.floats(-1e6, 1e6),
    width=st.floats(0.001, 1e6),
    position=st.floats(0, 1),
    step=st.floats(0, 1e7),
    seed=st.integers(0, 2**32),
)
def test_bounded_walk_stays_in_range_and_moves_at_most_a_step(
    low: float, width: float, position: float, step: float, seed: int
) -> None:
    high = low + width
    value = low + position * width
    moved = bounded_walk(random.Random(seed), value, step, low, high)
    assert low <= moved <= high
    assert abs(moved - value) <= step + 1e-6 * max(1.0, abs(value))


# -- replay -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source_settings", "error"),
    [
        ({"from": 0, "to": 10}, "source must name the stream to replay"),
        ({"source": "sine.1khz", "from": 10, "to": 10}, "from must be earlier than to"),
        ({"source": "sine.1khz", "to": 10, "speed": 0}, "speed must be between 0.01 and 1000"),
        ({"source": "sine.1khz", "to": 10, "loop": 2}, "loop must be between 0 and 1"),
        ({"source": "sine.1khz", "to": 10.5}, "to must be a whole number"),
    ],
)
def test_replay_names_what_is_wrong_with_its_settings(
    source_settings: dict[str, Any], error: str
) -> None:
    assert error in source_settings_errors("replay", source_settings)


def replay_of(stream: Any, **options: Any) -> Source:
    """Return a replay of `stream`'s samples 1..10 (stored at EPOCH + seq seconds)."""
    samples = samples_make(range(1, 11))
    samples[3]["flags"] = ["anomaly"]
    history_append({stream.pk: samples})
    settings = {"source": stream.slug, "from": EPOCH_MS + 1000, "to": EPOCH_MS + 11_000}
    return source_create("replay", settings | options)


def replay_run(source: Source, until_ms: int, step_ms: int = 50) -> list[Reading]:
    readings: list[Reading] = []
    for now in range(0, until_ms, step_ms):
        if source.needs_load:
            source.load(history_page)
        readings += source.poll(now)
    return readings


@pytest.mark.django_db
def test_replay_plays_stored_history_again_at_its_speed(private_stream: Any) -> None:
    replay = replay_of(private_stream, speed=10)
    readings = replay_run(replay, 2000)
    assert [r.t for r in readings] == [100 * i for i in range(10)]
    assert [r.values for r in readings] == [s["values"] for s in samples_make(range(1, 11))]
    assert readings[3].flags == ("anomaly",)
    assert replay.finished


@pytest.mark.django_db
def test_replay_of_a_market_plays_its_trades_and_books_whole(owner: Any) -> None:
    market = make_stream(
        "price.TEST", kind="market", title="Market", owner=owner, fields=SOURCES["market"].fields
    )
    source = source_create("market", {"symbol": "TEST"}, rng=random.Random(3))
    assert isinstance(source, ClockedSource)
    source.next_t = float(EPOCH_MS)
    made = source.poll(EPOCH_MS + 2000)
    history_append(
        {market.pk: [sample_frame(seq, r.t, r.values, r.flags) for seq, r in enumerate(made, 1)]}
    )
    replay = source_create(
        "replay", {"source": market.slug, "from": EPOCH_MS, "to": EPOCH_MS + 3000, "speed": 100}
    )
    readings = replay_run(replay, 1000, step_ms=10)
    assert [r.values for r in readings] == [r.values for r in made]
    assert any("trade" in r.values and "book" in r.values for r in readings)


@pytest.mark.django_db
def test_replay_plays_only_its_range(private_stream: Any) -> None:
    replay = replay_of(private_stream, **{"from": EPOCH_MS + 3000, "to": EPOCH_MS + 6000})
    readings = replay_run(replay, 5000)
    assert [r.values for r in readings] == [s["values"] for s in samples_make([3, 4, 5])]


@pytest.mark.django_db
def test_a_looping_replay_starts_over(private_stream: Any) -> None:
    replay = replay_of(private_stream, speed=100, loop=1)
    readings = replay_run(replay, 1000, step_ms=10)
    assert len(readings) >= 30
    assert [r.values for r in readings[:20]] == [
        s["values"] for s in samples_make(range(1, 11))
    ] * 2
    assert not replay.finished


@pytest.mark.django_db
def test_a_replay_of_a_missing_stream_finishes_at_once() -> None:
    replay = source_create("replay", {"source": "nope", "to": 10})
    assert replay_run(replay, 200) == []
    assert replay.finished


def test_a_replay_names_the_one_stream_it_reads_and_generators_read_none() -> None:
    replay = SOURCES["replay"]
    assert replay.streams_read({"source": "sensors.lab-1", "to": 10}) == ("sensors.lab-1",)
    assert replay.streams_read({"to": 10}) == ()
    assert replay.streams_read("not settings") == ()
    assert all(SOURCES[kind].streams_read({"source": "sensors.lab-1"}) == () for kind in GENERATED)
