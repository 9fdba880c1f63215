"""The three sources of the check read for one member: the meter store, the event mirror, the DSO store.

`check_month` is what a command or a DApp page calls; everything it reads goes through the pure
functions of node.dso.check. Which metering points are the member's: those named, else those whose
keccak hash is the meter id hash the member was admitted with (`add-member --meter-id`), else the
only point in a household's own DSO file.
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone, tzinfo
from typing import Sequence

from node.dso.check import (QUARTER_HOUR, ChainInterval, CheckResult, CheckRow, CheckSummary, DsoInterval,
                            MeterInterval, Tolerance, check_intervals, period_starts)
from node.dso.errors import CheckError
from node.dso.quantities import Quantity
from node.dso.store import DsoStore
from node.mirror.db import MirrorDB
from node.settlement import taken_wh
from node.store.store import MeterStore

COMMUNITY = "Community"
EXCHANGE = "EnergyExchange"


@dataclass(frozen=True)
class MemberCheck:
    """A member's period checked: who, which metering points, which quarter-hours, and the result."""

    member_id: int | None  # None: the account is not (yet) a member in the mirror
    points: tuple[str, ...]
    first: int  # unix seconds, the period's first quarter-hour
    stop: int  # unix seconds, the end of its last
    result: CheckResult

    @property
    def rows(self) -> tuple[CheckRow, ...]:
        return self.result.rows

    @property
    def summary(self) -> CheckSummary:
        return self.result.summary


def month_bounds(month: date, zone: tzinfo) -> tuple[int, int]:
    """Unix seconds of the month's first local midnight and of the next month's."""
    first = month.replace(day=1)
    after = (first + timedelta(days=32)).replace(day=1)
    return (int(datetime.combine(first, time(), zone).timestamp()),
            int(datetime.combine(after, time(), zone).timestamp()))


def check_month(store: MeterStore, mirror: MirrorDB, dso: DsoStore, account: str, month: date, zone: tzinfo,
                points: Sequence[str] = (), tolerance: Tolerance = Tolerance(),
                length: int = QUARTER_HOUR) -> MemberCheck:
    """The check of `account`'s local calendar `month`; `length` is the Community's interval length."""
    first, stop = month_bounds(month, zone)
    return check_period(store, mirror, dso, account, first, stop, points, tolerance, length)


def check_period(store: MeterStore, mirror: MirrorDB, dso: DsoStore, account: str, first: int, stop: int,
                 points: Sequence[str] = (), tolerance: Tolerance = Tolerance(),
                 length: int = QUARTER_HOUR) -> MemberCheck:
    """The check of quarter-hours from `first` to `stop` (unix seconds)."""
    if length <= 0 or QUARTER_HOUR % length:
        raise CheckError(f"the community's intervals ({length} s) do not divide a DSO's quarter-hour")
    member_id, meter_hash = member_of(mirror, account)
    chosen = tuple(points) or member_points(dso, meter_hash)
    result = check_intervals(
        period_starts(first, stop),
        meter_intervals(store, first, stop),
        chain_intervals(mirror, member_id, account, first, stop, length) if member_id is not None else {},
        dso_intervals(dso, chosen, first, stop),
        tolerance,
    )
    return MemberCheck(member_id, chosen, first, stop, result)


def check_members(mirror: MirrorDB, dso: DsoStore, month: date, zone: tzinfo, tolerance: Tolerance = Tolerance(),
                  length: int = QUARTER_HOUR) -> list[MemberCheck]:
    """For the community's admin: every member whose meter id is a metering point of the DSO file, its
    month of DSO figures against what the chain booked. Other members' meters stay on their own nodes,
    so the reading each submitted stands in for its meter; what the chain holds every member may read."""
    first, stop = month_bounds(month, zone)
    by_hash = {"0x" + _keccak(p): p for p in dso.points()}
    checked = []
    for member_id, (account, meter_hash) in _members(mirror).items():
        point = by_hash.get((meter_hash or "").lower())
        if point is None:
            continue
        chain = chain_intervals(mirror, member_id, account, first, stop, length)
        readings = {start: MeterInterval(c.import_wh, c.export_wh) for start, c in chain.items() if c.reported}
        result = check_intervals(period_starts(first, stop), readings, chain,
                                 dso_intervals(dso, (point,), first, stop), tolerance)
        checked.append(MemberCheck(member_id, (point,), first, stop, result))
    return checked


def _members(mirror: MirrorDB) -> dict[int, tuple[str, str | None]]:
    """member id -> (account, meter id hash), as the latest MemberAdded of each states them."""
    latest = {}
    for event in mirror.events("MemberAdded", COMMUNITY):
        latest[event.args["memberId"]] = (event.args["account"], event.args.get("meterIdHash"))
    return dict(sorted(latest.items()))


def _keccak(text: str) -> str:
    from eth_utils import keccak

    return keccak(text=text).hex().removeprefix("0x")


def member_of(mirror: MirrorDB, account: str) -> tuple[int | None, str | None]:
    """The member id of `account` and the hash of the meter id it was admitted with."""
    found = None
    for event in mirror.events("MemberAdded", COMMUNITY):
        if event.args["account"].lower() == account.lower():
            found = event.args["memberId"], event.args.get("meterIdHash")
    return found or (None, None)


def member_points(dso: DsoStore, meter_hash: str | None) -> tuple[str, ...]:
    held = dso.points()
    if meter_hash:
        matching = tuple(p for p in held if "0x" + _keccak(p) == meter_hash.lower())
        if matching:
            return matching
    if len(held) <= 1:
        return tuple(held)
    raise CheckError(f"the DSO file holds {len(held)} metering points and none is this member's meter id:"
                     " name the household's with --point")


def meter_intervals(store: MeterStore, first: int, stop: int) -> dict[int, MeterInterval]:
    return {
        int(e.start.timestamp()): MeterInterval(e.import_wh, e.export_wh, e.complete)
        for e in store.interval_energy(datetime.fromtimestamp(first, timezone.utc), datetime.fromtimestamp(stop, timezone.utc))
        if e.import_wh is not None or e.export_wh is not None
    }


def dso_intervals(dso: DsoStore, points: Sequence[str], first: int, stop: int) -> dict[int, DsoInterval]:
    out = {}
    for start, figures in dso.figures(points, first, stop).items():
        def wh(quantity: Quantity) -> int | None:
            figure = figures.get(quantity)
            return None if figure is None else figure.wh

        flags = 0
        for figure in figures.values():
            flags |= figure.flags
        out[start] = DsoInterval(wh(Quantity.CONSUMPTION), wh(Quantity.SHARE), wh(Quantity.COVERED),
                                 wh(Quantity.SURPLUS), wh(Quantity.EXPORT), flags)
    return out


class _Timeline:
    """Values set by events, as they stood just before a position (block, log index) on the chain."""

    def __init__(self, events, value):
        pairs = sorted(((e.block_number, e.log_index), value(e)) for e in events)
        self.positions = [p for p, _ in pairs]
        self.values = [v for _, v in pairs]

    def at(self, position: tuple[int, int], default=None):
        index = bisect_left(self.positions, position)
        return self.values[index - 1] if index else default


def chain_intervals(mirror: MirrorDB, member_id: int, account: str, first: int, stop: int,
                    length: int = QUARTER_HOUR) -> dict[int, ChainInterval]:
    """quarter-hour start -> the member's settled intervals in it, as the chain booked them."""
    low, high = first // length, (stop - 1) // length
    mine = {"memberId": member_id}
    readings = {interval: (imported, exported) for _, _, interval, imported, exported in
                mirror.interval_values("ReadingSubmitted", low, high, ("interval", "importWh", "exportWh"), mine)}
    booked = {interval: (allocated, delta) for _, _, interval, allocated, delta in
              mirror.interval_values("MemberSettled", low, high, ("interval", "allocatedWh", "tokenDelta"), mine)}
    dealt: dict[int, int] = {}
    for e in mirror.interval_events("DeliveryRecorded", low, high):
        if e.contract == EXCHANGE and e.args["producer"].lower() == account.lower():
            dealt[e.args["interval"]] = dealt.get(e.args["interval"], 0) + e.args["wh"]
    producer = _Timeline(mirror.events("MemberProfileChanged", COMMUNITY, where=mine), lambda e: e.args["producer"])
    price = _Timeline(mirror.events("LocalPriceChanged", COMMUNITY), lambda e: e.args["pricePerKWh"])
    parts: dict[int, list[ChainInterval]] = {}
    settled = mirror.interval_values("IntervalSettled", low, high, ("interval", "productionWh", "allocatedWh"))
    for block, log_index, interval, production, community_allocated in settled:
        position = (block, log_index)
        imported, exported = readings.get(interval, (0, 0))
        allocated, delta = booked.get(interval, (0, 0))
        surplus = None
        if producer.at(position, False):
            supply = exported - dealt.get(interval, 0)
            surplus = supply - (taken_wh(community_allocated, supply, production) if production else 0)
        quarter = interval * length // QUARTER_HOUR * QUARTER_HOUR
        parts.setdefault(quarter, []).append(ChainInterval(interval in readings, imported, exported, allocated,
                                                           surplus, delta, price.at(position)))
    return {quarter: _quarter(pieces, QUARTER_HOUR // length) for quarter, pieces in parts.items()}


def _quarter(pieces: list[ChainInterval], expected: int) -> ChainInterval:
    """Shorter community intervals added up into the DSO's quarter-hour."""
    if len(pieces) == 1 and expected == 1:
        return pieces[0]
    surpluses = [p.surplus_wh for p in pieces if p.surplus_wh is not None]
    return ChainInterval(
        reported=len(pieces) == expected and all(p.reported for p in pieces),
        import_wh=sum(p.import_wh for p in pieces), export_wh=sum(p.export_wh for p in pieces),
        allocated_wh=sum(p.allocated_wh for p in pieces),
        surplus_wh=sum(surpluses) if surpluses else None,
        token_delta=sum(p.token_delta for p in pieces), price=pieces[0].price,
    )
