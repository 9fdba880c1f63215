"""The reference allocation on its own: invariants, the STATIC_ROUNDS closed form, hand-worked examples
from the published rules, and bad input."""

from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from node.allocation import (
    FULL_SHARE_PPM,
    AllocationKey,
    Consumer,
    allocate,
    schedule_slot,
    static_rounds,
    static_key_by_rounds,
)
from node.errors import AllocationError

demands = st.lists(st.integers(0, 50_000), min_size=1, max_size=30)


@st.composite
def coefficients_for(draw, n):
    weights = draw(st.lists(st.integers(0, 1000), min_size=n, max_size=n))
    total = sum(weights) or 1
    scale = draw(st.integers(1, FULL_SHARE_PPM))
    return [w * scale // total for w in weights]


@given(demand=demands, production=st.integers(0, 500_000), data=st.data(), key=st.sampled_from(AllocationKey))
@settings(max_examples=300, deadline=None)
def test_no_key_allocates_more_than_production_or_demand(demand, production, data, key):
    coefficients = data.draw(coefficients_for(len(demand)))
    levels = data.draw(st.lists(st.integers(0, 15), min_size=len(demand), max_size=len(demand)))
    consumers = [Consumer(c, k, lv) for c, k, lv in zip(demand, coefficients, levels)]
    allocated = allocate(key, production, consumers)
    assert sum(allocated) <= production
    assert all(0 <= e <= c for e, c in zip(allocated, demand))


@given(demand=demands, production=st.integers(0, 500_000), data=st.data())
@settings(max_examples=300, deadline=None)
def test_static_closed_form_matches_redistribution_rounds_within_a_watt_hour(demand, production, data):
    coefficients = data.draw(coefficients_for(len(demand)))
    closed = static_rounds(production, demand, coefficients)
    rounds = static_key_by_rounds(production, demand, coefficients)
    assert all(Fraction(0) <= r - e < 1 for e, r in zip(closed, rounds))


def test_brussels_rounds_pass_unused_shares_on():
    # 60/40 keys over 1000 Wh; the first needs only 100 Wh, so the second gets the rest it can use.
    assert static_rounds(1000, [100, 2000], [600_000, 400_000]) == [100, 900]


def test_brussels_rounds_go_on_until_nothing_moves():
    # 20/40/40 % of 1000 Wh. Round 1: A uses 100 of its 200, B and C take their 400. Round 2 offers
    # A's 100 half to B and half to C; B needs none of it, so round 3 passes its 50 on to C as well.
    assert static_rounds(1000, [100, 400, 2000], [200_000, 400_000, 400_000]) == [100, 400, 500]


def test_austrian_static_quarter_hour_leaves_an_unused_share_as_surplus():
    # A quarter-hour with 2 kWh produced and 50/30/20 % shares: the first household uses 0.2 kWh of its
    # 1 kWh; the 0.8 kWh left are surplus, not given to the others, who stay at their own shares.
    consumers = [Consumer(200, 500_000), Consumer(5000, 300_000), Consumer(5000, 200_000)]
    assert allocate(AllocationKey.STATIC_FIXED, 2000, consumers) == [200, 600, 400]


def test_french_dynamique_simple_gives_the_percentages_of_the_quarter_hour_from_one_pot():
    # Two producers' 600 + 400 Wh in one pot; the community set 70 % / 30 % for this quarter-hour.
    assert allocate(AllocationKey.SCHEDULED, 600 + 400, [Consumer(900, 700_000), Consumer(100, 300_000)]) == [700, 100]


@pytest.mark.parametrize("start, slot", [
    (0, 0),  # Thursday 1970-01-01 00:00 UTC
    (2 * 86_400 + 900, 97),  # Saturday 00:15
    (4 * 86_400 + 23 * 3600 + 45 * 60, 95),  # Monday 23:45
    (1_767_268_800, 48),  # Thursday 2026-01-01 12:00 UTC
])
def test_the_schedule_slot_is_the_utc_quarter_hour_plus_96_at_weekends(start, slot):
    assert schedule_slot(start) == slot


def test_prorata_splits_by_demand_when_production_is_short():
    assert allocate(AllocationKey.PRORATA, 3000, [Consumer(1000), Consumer(3000)]) == [750, 2250]


def test_priority_fills_levels_in_order_and_shares_the_last_one():
    consumers = [Consumer(500, priority=0), Consumer(1000, priority=1), Consumer(3000, priority=1)]
    assert allocate(AllocationKey.PRIORITY, 1500, consumers) == [500, 250, 750]


@pytest.mark.parametrize(
    "production, consumers, message",
    [
        (-1, [Consumer(1)], "production must not be negative"),
        (1, [Consumer(-5)], "demand must not be negative"),
        (1, [Consumer(1, priority=16)], "priority must be 0..15"),
        (1, [Consumer(1, 600_000), Consumer(1, 500_000)], "over 100%"),
    ],
)
def test_inconsistent_input_is_refused_with_a_clear_message(production, consumers, message):
    with pytest.raises(AllocationError, match=message):
        allocate(AllocationKey.STATIC_ROUNDS, production, consumers)
