"""Test support for node.dso: a community's month settled with node.settlement's reference, and the
files a grid operator would send for it."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from eth_utils import keccak

from node.allocation import AllocationKey
from node.dso.check import ChainInterval, MeterInterval
from node.dso.quantities import Quantity
from node.mirror.db import MirroredEvent, MirrorDB
from node.settlement import IntervalOutcome, MemberInterval, settle_interval
from node.store import MeterStore, Sample, StoreSettings

VIENNA = ZoneInfo("Europe/Vienna")
PARIS = ZoneInfo("Europe/Paris")
PRICE = 10**17  # 0.1 credit per kWh
INTERVAL = 900
AUSTRIAN_HEADER = ("Zählpunkt;Beginn;Ende;G.01 Gesamtverbrauch lt. Messung [kWh];G.02 Anteil gemeinschaftliche"
                   " Erzeugung [kWh];G.03 Eigendeckung gemeinschaftliche Erzeugung [kWh];P.01 Überschusserzeugung [kWh]")
ACCOUNTS = {1: "0x1111111111111111111111111111111111111111", 2: "0x2222222222222222222222222222222222222222",
            3: "0x3333333333333333333333333333333333333333"}
POINTS = {1: "AT0030000000000000000000000000001", 2: "AT0030000000000000000000000000002",
          3: "AT0030000000000000000000000000003"}
PRODUCERS = {3}


def kwh(wh: int) -> str:
    """Wh as an Austrian portal writes kWh: a decimal comma and three decimals."""
    return f"{wh // 1000},{wh % 1000:03d}"


def local(ts: int, zone=VIENNA) -> str:
    return datetime.fromtimestamp(ts, zone).strftime("%d.%m.%Y %H:%M")


@dataclass
class Community:
    """Three members (two consumers, one producer) and what the chain booked for each quarter-hour."""

    starts: range
    key: AllocationKey = AllocationKey.PRORATA
    seed: int = 16
    readings: dict[int, dict[int, tuple[int, int]]] = field(default_factory=dict)  # start -> member -> (import, export)
    outcomes: dict[int, IntervalOutcome] = field(default_factory=dict)

    def __post_init__(self):
        rng = random.Random(self.seed)
        for start in self.starts:
            self.readings[start] = {1: (rng.randrange(40, 400), 0), 2: (rng.randrange(40, 400), 0),
                                    3: (rng.randrange(0, 40), rng.randrange(0, 700))}
            self.outcomes[start] = self.settle(start, self.key)

    def settle(self, start: int, key: AllocationKey, coefficients: dict[int, int] | None = None) -> IntervalOutcome:
        members = [MemberInterval(m, i, e, m in PRODUCERS, m not in PRODUCERS,
                                  (coefficients or {}).get(m, 0), balance=10**24)
                   for m, (i, e) in self.readings[start].items()]
        return settle_interval(key, PRICE, members)

    def meter(self, member: int) -> dict[int, MeterInterval]:
        return {s: MeterInterval(*self.readings[s][member]) for s in self.starts}

    def chain(self, member: int, outcomes: dict[int, IntervalOutcome] | None = None) -> dict[int, ChainInterval]:
        out = {}
        for s in self.starts:
            outcome = (outcomes or self.outcomes)[s]
            mine = next(o for o in outcome.members if o.member_id == member)
            imported, exported = self.readings[s][member]
            out[s] = ChainInterval(True, imported, exported, mine.allocated_wh,
                                   mine.surplus_wh if member in PRODUCERS else None, mine.token_delta, PRICE)
        return out

    def dso_rows(self, member: int) -> list[tuple[int, dict[Quantity, int]]]:
        """What the grid operator computes for the member's metering point, quarter-hour by quarter-hour."""
        rows = []
        for s in self.starts:
            mine = next(o for o in self.outcomes[s].members if o.member_id == member)
            imported = self.readings[s][member][0]
            figures = {Quantity.CONSUMPTION: imported, Quantity.SHARE: mine.allocated_wh,
                       Quantity.COVERED: mine.allocated_wh}
            if member in PRODUCERS:
                figures[Quantity.SURPLUS] = mine.surplus_wh
            rows.append((s, figures))
        return rows

    def write_austrian(self, path: Path, members=(1, 2, 3), skip: set[tuple[int, int]] = frozenset()) -> Path:
        """The wide Austrian export of the members' points: a BOM, semicolons, decimal commas, local times."""
        lines = ["\ufeff" + AUSTRIAN_HEADER]
        for member in members:
            for s, f in self.dso_rows(member):
                if (member, s) in skip:
                    continue
                surplus = kwh(f[Quantity.SURPLUS]) if Quantity.SURPLUS in f else ""
                lines.append(f"{POINTS[member]};{local(s)};{local(s + INTERVAL)};{kwh(f[Quantity.CONSUMPTION])};"
                             f"{kwh(f[Quantity.SHARE])};{kwh(f[Quantity.COVERED])};{surplus}")
        path.write_text("\r\n".join(lines) + "\r\n", encoding="utf-8")
        return path

    def write_mirror(self, path: Path) -> None:
        """The Community's events for these intervals, as the mirror holds them (one block each)."""
        events, block = [], 0

        def emit(*named: tuple[str, dict]) -> None:
            nonlocal block
            block += 1
            block_hash = "0x" + keccak(block.to_bytes(8, "big")).hex()
            for index, (name, args) in enumerate(named):
                events.append(MirroredEvent(block, index, block_hash, block, block_hash, "Community", name, args))

        emit(("LocalPriceChanged", {"pricePerKWh": PRICE}), ("AllocationKeyChanged", {"key": int(self.key), "fromInterval": 0}))
        for m, account in ACCOUNTS.items():
            emit(("MemberAdded", {"memberId": m, "account": account,
                                  "meterIdHash": "0x" + keccak(text=POINTS[m]).hex()}),
                 ("MemberProfileChanged", {"memberId": m, "producer": m in PRODUCERS, "consumer": m not in PRODUCERS,
                                           "coefficientPpm": 0, "priority": 0}))
        for s in self.starts:
            interval = s // INTERVAL
            emit(*[("ReadingSubmitted", {"interval": interval, "memberId": m, "importWh": i, "exportWh": e})
                   for m, (i, e) in self.readings[s].items()])
            o = self.outcomes[s]
            emit(*[("MemberSettled", {"interval": interval, "memberId": m.member_id, "allocatedWh": m.allocated_wh,
                                      "tokenDelta": m.token_delta}) for m in o.members],
                 ("IntervalSettled", {"interval": interval, "productionWh": o.production_wh,
                                      "allocatedWh": o.allocated_wh, "paid": o.paid, "unpaid": o.unpaid,
                                      "key": int(self.key)}))
        db = MirrorDB(path)
        try:
            db.append(events, {}, block, 32)
        finally:
            db.close()


def write_meter(path, community: Community, member: int, starts) -> None:
    """Readings a minute apart whose register steps add up to the member's Wh in each quarter-hour."""
    with MeterStore(path, StoreSettings(max_clock_skew=None)) as store:
        imported = exported = 1_000_000
        store.add_sample(Sample(starts[0], "E1", imported, exported))
        for start in starts:
            total_import, total_export = community.readings[start][member]
            for minute in range(1, 16):
                imported += total_import * minute // 15 - total_import * (minute - 1) // 15
                exported += total_export * minute // 15 - total_export * (minute - 1) // 15
                store.add_sample(Sample(start + 60 * minute, "E1", imported, exported))


def run(path, db, **options):
    """Import `path` into the DSO file `db`: the report, the refusals (where, reason) and every figure."""
    from node.dso.importer import import_file
    from node.dso.store import DsoStore

    problems = []
    with DsoStore(db) as store:
        report = import_file(path, store, on_problem=problems.append, **options)
        figures = store.figures(store.points(), 0, 2**40)
    return report, [(p.where, p.reason) for p in problems], figures
