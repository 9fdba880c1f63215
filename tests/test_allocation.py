"""The reference allocation on its own: invariants, the STATIC closed form, and bad input."""

from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from node.allocation import (
    FULL_SHARE_PPM,
    AllocationKey,
    Consumer,
    allocate,
    static_key,
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
    closed = static_key(production, demand, coefficients)
    rounds = static_key_by_rounds(production, demand, coefficients)
    assert all(Fraction(0) <= r - e < 1 for e, r in zip(closed, rounds))


def test_static_shares_follow_keys_and_unused_shares_flow_on():
    # 60/40 keys over 1000 Wh; the first needs only 100 Wh, so the second gets the rest it can use.
    assert static_key(1000, [100, 2000], [600_000, 400_000]) == [100, 900]


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
        allocate(AllocationKey.STATIC, production, consumers)
