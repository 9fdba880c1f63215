"""The check: a month settled with node.settlement's reference and exported as the grid operator
would compute it agrees; one value changed is found, with the right reason."""

from dataclasses import replace
from datetime import date

import pytest

from dsokit import PRICE, VIENNA, Community, POINTS
from node.allocation import AllocationKey
from node.dso.check import (AGREE, DIFFER, NO_DATA, ChainInterval, MeterInterval, Tolerance, check_intervals,
                            period_starts)
from node.dso.importer import import_file
from node.dso.quantities import INCOMPLETE
from node.dso.sources import dso_intervals, month_bounds
from node.dso.store import DsoStore

FIRST, STOP = month_bounds(date(2024, 3, 1), VIENNA)  # March 2024: the clocks go forward on the 31st
STARTS = period_starts(FIRST, STOP)


@pytest.fixture(scope="module")
def community():
    return Community(STARTS)


@pytest.fixture(scope="module")
def exported(community, tmp_path_factory):
    """The month's DSO file, imported: what the DSO computed for member 1 (and the others)."""
    folder = tmp_path_factory.mktemp("dso")
    path = community.write_austrian(folder / "eeg.csv")
    with DsoStore(folder / "dso.sqlite") as store:
        report = import_file(path, store)
        figures = {m: dso_intervals(store, [POINTS[m]], FIRST, STOP) for m in (1, 3)}
    assert not report.refused
    return figures


def check(community, exported, member=1, meter=None, chain=None, dso=None):
    return check_intervals(STARTS, community.meter(member) if meter is None else meter,
                           community.chain(member) if chain is None else chain,
                           exported[member] if dso is None else dso)


def only_difference(result):
    rows = [r for r in result.rows if r.status != AGREE]
    assert len(rows) == 1, [(r.start, r.reason) for r in rows]
    return rows[0]


def nth(n: int) -> int:
    return STARTS[n]


def test_a_month_exported_as_the_grid_operator_computes_it_agrees_in_every_interval(community, exported):
    consumer = check(community, exported, 1)
    producer = check(community, exported, 3)

    assert len(STARTS) == 31 * 96 - 4
    assert (consumer.summary.agreeing, consumer.summary.disagreeing) == (len(STARTS), 0)
    assert (producer.summary.agreeing, producer.summary.disagreeing) == (len(STARTS), 0)
    assert consumer.summary.meter_import_wh == consumer.summary.dso_consumption_wh


def test_a_quarter_hour_the_dso_did_not_send_is_dso_missing(community, exported):
    dso = dict(exported[1])
    del dso[nth(500)]

    row = only_difference(check(community, exported, dso=dso))

    assert (row.start, row.status, row.reason) == (nth(500), DIFFER, "dso_missing")


def test_an_interval_without_the_members_reading_on_chain_is_not_on_chain(community, exported):
    start = next(s for s in STARTS[600:] if exported[1][s].covered > 50)
    chain = community.chain(1)
    chain[start] = ChainInterval(False, price=PRICE)

    row = only_difference(check(community, exported, chain=chain))

    assert (row.start, row.reason) == (start, "not_on_chain")
    assert [d.what for d in row.differences] == ["covered"]


def test_a_dso_value_missing_a_part_of_the_quarter_hour_is_dso_incomplete(community, exported):
    dso = dict(exported[1])
    dso[nth(700)] = replace(dso[nth(700)], consumption=dso[nth(700)].consumption // 3, flags=INCOMPLETE)

    row = only_difference(check(community, exported, dso=dso))

    assert (row.start, row.reason) == (nth(700), "dso_incomplete")


def test_an_interval_with_a_gap_in_the_meter_data_is_meter_gap(community, exported):
    meter = community.meter(1)
    meter[nth(800)] = MeterInterval(meter[nth(800)].import_wh // 3, 0, complete=False)

    row = only_difference(check(community, exported, meter=meter))

    assert (row.start, row.reason) == (nth(800), "meter_gap")


def test_meter_values_shifted_by_one_interval_are_a_clock_shift(community, exported):
    meter, original = community.meter(1), community.meter(1)
    window = STARTS[900:910]
    for start in window:  # the meter's clock ran a quarter-hour ahead for these intervals
        meter[start] = original[start - 900]

    result = check(community, exported, meter=meter)
    reasons = {r.start: r.reason for r in result.rows if r.status == DIFFER}

    assert set(reasons) <= set(window)
    assert set(reasons.values()) == {"clock_shift"}
    assert result.summary.reasons == {"clock_shift": len(reasons)}


def test_a_share_settled_under_another_key_is_key_differs(community, exported):
    start = next(s for s in STARTS[1000:] if community.outcomes[s].production_wh > 200)
    outcomes = dict(community.outcomes)
    outcomes[start] = community.settle(start, AllocationKey.STATIC_FIXED, {1: 900_000, 2: 100_000})

    row = only_difference(check(community, exported, chain=community.chain(1, outcomes)))

    assert (row.start, row.reason) == (start, "key_differs")
    assert [d.what for d in row.differences] == ["covered"]


def test_a_producers_surplus_the_dso_sees_otherwise_is_key_differs(community, exported):
    start = next(s for s in STARTS[1100:] if exported[3][s].surplus > 100)
    dso = dict(exported[3])
    dso[start] = replace(dso[start], surplus=dso[start].surplus - 80)

    row = only_difference(check(community, exported, member=3, dso=dso))

    assert (row.reason, [d.what for d in row.differences]) == ("key_differs", ["surplus"])


def test_a_reading_on_chain_other_than_the_meter_store_is_submitted_differs(community, exported):
    chain = community.chain(1)
    chain[nth(1200)] = replace(chain[nth(1200)], import_wh=chain[nth(1200)].import_wh + 100)

    row = only_difference(check(community, exported, chain=chain))

    assert (row.start, row.reason) == (nth(1200), "submitted_differs")


def test_a_consumption_the_dso_measured_otherwise_without_a_visible_cause_is_unexplained(community, exported):
    dso = dict(exported[1])
    dso[nth(1300)] = replace(dso[nth(1300)], consumption=dso[nth(1300)].consumption + 500)

    row = only_difference(check(community, exported, dso=dso))

    assert (row.start, row.reason, row.difference_wh) == (nth(1300), "unexplained", 500)


def test_the_summary_counts_energy_credits_and_reasons_of_the_disagreeing_intervals(community, exported):
    chain = community.chain(1)
    starts = [s for s in STARTS if exported[1][s].covered > 50][:3]
    for start in starts:
        chain[start] = replace(chain[start], allocated_wh=chain[start].allocated_wh + 40)

    summary = check(community, exported, chain=chain).summary

    assert (summary.disagreeing, summary.reasons) == (3, {"key_differs": 3})
    assert summary.allocated_wh - summary.dso_covered_wh == 120
    assert summary.credits_difference == 3 * 40 * PRICE // 1000
    assert summary.credits == sum(chain[s].token_delta for s in starts)


def test_intervals_no_source_knows_are_without_data():
    result = check_intervals(range(0, 2700, 900), {}, {}, {})

    assert [r.status for r in result.rows] == [NO_DATA] * 3
    assert (result.summary.agreeing, result.summary.without_data) == (0, 3)


def test_the_tolerance_is_the_larger_of_its_wh_and_its_percentage():
    tolerance = Tolerance(wh=10, percent=2)

    assert (tolerance.allows(100, 110), tolerance.allows(100, 111)) == (True, False)
    assert (tolerance.allows(1000, 1020), tolerance.allows(1000, 1021)) == (True, False)
