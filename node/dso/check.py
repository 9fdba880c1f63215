"""The DSO's figures beside the node's own, interval by interval: pure functions over plain inputs.

For every quarter-hour of a period three sources stand side by side: the household's own meter
(node/store), what the chain booked for it (its reading and allocation, from the mirror) and the
grid operator's figures (node/dso's store). Where they differ beyond the tolerance, the check
names the likeliest reason it can see, in this order:

- `dso_missing`: the DSO sent no value where the node has one;
- `not_on_chain`: the DSO allocated a share, the chain had no reading of the member (so it counted zero);
- `dso_incomplete`: the DSO's own value lacks a part of the quarter-hour (Enedis steps missing);
- `meter_gap`: the node's meter data has a gap in the interval (incomplete in the store, or none);
- `clock_shift`: the meter's values are the DSO's shifted by one interval (the meter's clock is off);
- `key_differs`: the consumption agrees, the community share does not (another key or
  participation factor than the chain's);
- `submitted_differs`: the reading on chain is not what the meter store now holds;
- `unexplained`: none of these.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Mapping, Sequence

from node.dso.errors import CheckError
from node.dso.quantities import INCOMPLETE

QUARTER_HOUR = 900
WH_PER_KWH = 1000
REASONS = ("dso_missing", "not_on_chain", "dso_incomplete", "meter_gap", "clock_shift", "key_differs",
           "submitted_differs", "unexplained")
AGREE, DIFFER, NO_DATA = "agree", "differ", "no_data"


@dataclass(frozen=True, slots=True)
class Tolerance:
    """Values agree when they differ by at most `wh`, or by at most `percent` of the larger one."""

    wh: int = 10
    percent: int = 2

    def __post_init__(self) -> None:
        if self.wh < 0 or self.percent < 0:
            raise CheckError("a tolerance is never negative")

    def allows(self, ours: int, theirs: int) -> bool:
        difference = abs(ours - theirs)
        return difference <= self.wh or difference * 100 <= self.percent * max(abs(ours), abs(theirs))


@dataclass(frozen=True, slots=True)
class MeterInterval:
    """The node's own meter in one interval (node.store's IntervalEnergy)."""

    import_wh: int | None
    export_wh: int | None
    complete: bool = True


@dataclass(frozen=True, slots=True)
class ChainInterval:
    """One settled interval as the chain booked it for the member; `reported` False when it had no
    reading of the member and counted it as zero."""

    reported: bool
    import_wh: int = 0
    export_wh: int = 0
    allocated_wh: int = 0
    surplus_wh: int | None = None  # producers: supply the community left to the grid
    token_delta: int = 0
    price: int | None = None  # token units per kWh


@dataclass(frozen=True, slots=True)
class DsoInterval:
    """The DSO's figures for the household's metering points in one quarter-hour (None: not sent)."""

    consumption: int | None = None
    share: int | None = None
    covered: int | None = None
    surplus: int | None = None
    export: int | None = None
    flags: int = 0


@dataclass(frozen=True, slots=True)
class Difference:
    """One comparison beyond the tolerance: what, the node's value and the DSO's (None: missing)."""

    what: str  # consumption, export, covered, surplus or submitted
    ours: int | None
    theirs: int | None

    @property
    def wh(self) -> int:
        return abs((self.ours or 0) - (self.theirs or 0))


@dataclass(frozen=True, slots=True)
class CheckRow:
    """One interval, the three sources side by side, and the verdict."""

    start: int  # unix seconds
    meter: MeterInterval | None
    chain: ChainInterval | None
    dso: DsoInterval | None
    status: str  # agree, differ or no_data
    differences: tuple[Difference, ...] = ()
    reason: str | None = None

    @property
    def difference_wh(self) -> int:
        return max((d.wh for d in self.differences), default=0)


@dataclass(frozen=True)
class CheckSummary:
    """A period's verdict: how many intervals agree, what is at stake where they do not, and why."""

    intervals: int
    agreeing: int
    disagreeing: int
    without_data: int
    meter_import_wh: int  # the node's meter over the period
    dso_consumption_wh: int  # the DSO's consumption over the period
    difference_wh: int  # the largest difference of each disagreeing interval, summed
    allocated_wh: int  # community share the chain booked in the disagreeing intervals
    dso_covered_wh: int  # the DSO's community share in the same intervals
    credits: int  # token units the chain moved for the member in those intervals (received − paid)
    credits_difference: int  # (chain's share − DSO's share) at each interval's price, token units
    reasons: Mapping[str, int]


@dataclass(frozen=True)
class CheckResult:
    rows: tuple[CheckRow, ...]
    summary: CheckSummary


def check_intervals(
    starts: Sequence[int],
    meter: Mapping[int, MeterInterval],
    chain: Mapping[int, ChainInterval],
    dso: Mapping[int, DsoInterval],
    tolerance: Tolerance = Tolerance(),
    length: int = QUARTER_HOUR,
) -> CheckResult:
    """Compare the three sources for every interval start in `starts` (unix seconds, `length` apart).

    Keys missing from a mapping mean the source has nothing for that interval: no meter data, no
    settlement, no DSO value.
    """
    rows = tuple(_row(start, meter, chain, dso, tolerance, length) for start in starts)
    return CheckResult(rows, summarize(rows))


def _row(start, meter, chain, dso, tolerance: Tolerance, length: int) -> CheckRow:
    own, booked, theirs = meter.get(start), chain.get(start), dso.get(start)
    has_meter = own is not None and (own.import_wh is not None or own.export_wh is not None)
    if not has_meter and booked is None and theirs is None:
        return CheckRow(start, own, booked, theirs, NO_DATA)
    differences = tuple(_differences(own, booked, theirs or DsoInterval(), tolerance))
    if not differences:
        return CheckRow(start, own, booked, theirs, AGREE)
    reason = _reason(start, own, booked, theirs, differences, meter, dso, tolerance, length)
    return CheckRow(start, own, booked, theirs, DIFFER, differences, reason)


def _differences(own: MeterInterval | None, booked: ChainInterval | None, theirs: DsoInterval, tolerance: Tolerance):
    on_chain = booked is not None and booked.reported
    consumption = own.import_wh if own is not None and own.import_wh is not None else (
        booked.import_wh if on_chain else None)
    if consumption is not None or theirs.consumption is not None:
        if not _agree(consumption, theirs.consumption, tolerance):
            yield Difference("consumption", consumption, theirs.consumption)
    if theirs.export is not None:
        exported = own.export_wh if own is not None and own.export_wh is not None else (
            booked.export_wh if on_chain else None)
        if not _agree(exported, theirs.export, tolerance):
            yield Difference("export", exported, theirs.export)
    allocated = booked.allocated_wh if booked is not None else None
    if theirs.covered is not None and not _agree(allocated or 0, theirs.covered, tolerance):
        yield Difference("covered", allocated, theirs.covered)
    surplus = booked.surplus_wh if booked is not None else None
    if theirs.surplus is not None and not _agree(surplus or 0, theirs.surplus, tolerance):
        yield Difference("surplus", surplus, theirs.surplus)
    if own is not None and own.complete and own.import_wh is not None and on_chain:
        if not tolerance.allows(own.import_wh, booked.import_wh):
            yield Difference("submitted", own.import_wh, booked.import_wh)


def _agree(ours: int | None, theirs: int | None, tolerance: Tolerance) -> bool:
    if ours is None or theirs is None:
        return ours == theirs or (ours or theirs or 0) <= tolerance.wh  # nothing beside next to nothing
    return tolerance.allows(ours, theirs)


def _reason(start, own, booked, theirs, differences, meter, dso, tolerance: Tolerance, length: int) -> str:
    what = {d.what for d in differences}
    if theirs is None or any(d.theirs is None and d.what != "submitted" for d in differences):
        return "dso_missing"
    if (booked is None or not booked.reported) and what & {"covered", "surplus"}:
        return "not_on_chain"
    if theirs.flags & INCOMPLETE:
        return "dso_incomplete"
    measured = what & {"consumption", "export"}
    if measured and (own is None or not own.complete or own.import_wh is None):
        return "meter_gap"
    if measured and _shifted(start, meter, dso, tolerance, length, "consumption" in what):
        return "clock_shift"
    if what & {"covered", "surplus"} and not measured:
        return "key_differs"
    if "submitted" in what:
        return "submitted_differs"
    return "unexplained"


def _shifted(start: int, meter, dso, tolerance: Tolerance, length: int, consumption: bool) -> bool:
    """The meter's values line up with the DSO's one interval earlier or later, at this interval and
    a neighbour: a meter clock off by an interval, not a coincidence of two equal values."""
    def ours(at: int) -> int | None:
        own = meter.get(at)
        return None if own is None else own.import_wh if consumption else own.export_wh

    def theirs(at: int) -> int | None:
        figure = dso.get(at)
        return None if figure is None else figure.consumption if consumption else figure.export

    def matches(at: int, shift: int) -> bool:
        a, b = ours(at), theirs(at + shift)
        return a is not None and b is not None and tolerance.allows(a, b)

    # At the edges of a stretch with the clock off only one neighbour lines up.
    return any(matches(start, shift) and (matches(start - shift, shift) or matches(start + shift, shift))
               for shift in (-length, length))


def summarize(rows: Sequence[CheckRow]) -> CheckSummary:
    """The month summary (or any period's) of checked rows."""
    differing = [r for r in rows if r.status == DIFFER]
    reasons = Counter(r.reason for r in differing)
    credits_difference = 0
    for r in differing:
        if r.chain is not None and r.chain.price is not None and r.dso is not None and r.dso.covered is not None:
            credits_difference += (r.chain.allocated_wh - r.dso.covered) * r.chain.price // WH_PER_KWH
    return CheckSummary(
        intervals=len(rows),
        agreeing=sum(r.status == AGREE for r in rows),
        disagreeing=len(differing),
        without_data=sum(r.status == NO_DATA for r in rows),
        meter_import_wh=sum(r.meter.import_wh or 0 for r in rows if r.meter is not None),
        dso_consumption_wh=sum(r.dso.consumption or 0 for r in rows if r.dso is not None),
        difference_wh=sum(r.difference_wh for r in differing),
        allocated_wh=sum(r.chain.allocated_wh for r in differing if r.chain is not None),
        dso_covered_wh=sum(r.dso.covered or 0 for r in differing if r.dso is not None),
        credits=sum(r.chain.token_delta for r in differing if r.chain is not None),
        credits_difference=credits_difference,
        reasons={reason: reasons[reason] for reason in REASONS if reasons[reason]},
    )


def period_starts(first: int, stop: int, length: int = QUARTER_HOUR) -> range:
    """Interval starts from `first` (rounded down to a boundary) up to `stop`."""
    return range(first - first % length, stop, length)
