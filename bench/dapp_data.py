"""A node data folder holding a year: 10-second meter readings in the store and a five-member
community's settled intervals in the event mirror, ending now. Used by the DApp benchmarks."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from node.allocation import AllocationKey
from node.dso.quantities import Figure, Quantity
from node.dso.store import DsoStore
from node.meter.simulator.household import PROFILES, Household
from node.mirror.db import MirrorDB, MirroredEvent
from node.settlement import MemberInterval, settle_interval
from node.store import MeterStore, Sample, StoreSettings

STEP = 10
INTERVAL = 900
PRICE = 25 * 10**16  # 0.25 credit per kWh
# memberId: (profile, seed, producer, consumer); member 1 is this node's household.
MEMBERS = {1: ("prosumer", 1, True, True), 2: ("producer", 2, True, False), 3: ("consumer", 3, False, True),
           4: ("consumer", 4, False, True), 5: ("prosumer", 5, True, True)}


def year_of_samples(start: int, days: int):
    """This household's 10-second readings; its power is taken from the model once a minute."""
    household = Household(PROFILES["prosumer"], 1)
    import_mwh = export_mwh = 0
    ts = start
    for _ in range(days * 1440):
        moment = datetime.fromtimestamp(ts, timezone.utc)
        load, pv = household.load_w(moment), household.pv_w(moment)
        import_w, export_w = round(max(load - pv, 0)), round(max(pv - load, 0))
        for _ in range(60 // STEP):
            yield Sample(ts, "E0099000000000001", import_mwh // 1000, export_mwh // 1000, import_w, export_w)
            import_mwh += import_w * STEP * 1000 // 3600
            export_mwh += export_w * STEP * 1000 // 3600
            ts += STEP


def fill_store(path: Path, start: int, days: int) -> int:
    now = [float(start)]
    store = MeterStore(path, StoreSettings(), clock=lambda: now[0])
    count = 0
    for sample in year_of_samples(start, days):
        now[0] = sample.ts
        store.add_sample(sample)
        count += 1
    store.flush()
    store.maintain()
    store.close()
    return count


def fill_mirror(path: Path, store_path: Path, accounts: dict[int, str], start: int, days: int,
                dso_path: Path | None = None) -> int:
    """Readings of every member and the settlement the contract books, one block per interval; and,
    into `dso_path`, the grid operator's figures for this node's member as it would compute them."""
    store = MeterStore(store_path)
    own = {int(row.start.timestamp()) // INTERVAL: row for row in
           store.interval_energy(datetime.fromtimestamp(start, timezone.utc),
                                 datetime.fromtimestamp(start + days * 86400, timezone.utc))}
    store.close()
    others = {m: Household(PROFILES[profile], seed) for m, (profile, seed, _, _) in MEMBERS.items() if m != 1}
    mirror = MirrorDB(path)
    dso = DsoStore(dso_path) if dso_path else None
    figures = []
    block = 1
    events = [MirroredEvent(block, 0, _hash(block), start, _hash(-block), "Community", "AllocationKeyChanged", {"key": 0, "fromInterval": 0}),
              MirroredEvent(block, 1, _hash(block), start, _hash(-block), "Community", "LocalPriceChanged",
                            {"pricePerKWh": PRICE})]
    for m, account in accounts.items():
        _, _, producer, consumer = MEMBERS[m]
        events.append(MirroredEvent(block, 2 * m, _hash(block), start, _hash(-block), "Community", "MemberAdded",
                                    {"memberId": m, "account": account, "meterIdHash": "0x" + "00" * 32}))
        events.append(MirroredEvent(block, 2 * m + 1, _hash(block), start, _hash(-block), "Community",
                                    "MemberProfileChanged", {"memberId": m, "producer": producer, "consumer": consumer,
                                                             "coefficientPpm": 200_000, "priority": m}))
    count = 0
    for interval in range(start // INTERVAL, (start + days * 86400) // INTERVAL):
        block += 1
        moment = datetime.fromtimestamp(interval * INTERVAL + INTERVAL // 2, timezone.utc)
        readings = {}
        mine = own.get(interval)
        if mine is not None and mine.import_wh is not None:
            readings[1] = (mine.import_wh, mine.export_wh or 0)
        for m, household in others.items():
            load, pv = household.load_w(moment), household.pv_w(moment)
            readings[m] = (round(max(load - pv, 0) / 4), round(max(pv - load, 0) / 4))
        members = [MemberInterval(m, imp, exp, MEMBERS[m][2], MEMBERS[m][3], 200_000, m, 10**24)
                   for m, (imp, exp) in readings.items()]
        outcome = settle_interval(AllocationKey.PRORATA, PRICE, members)
        at = (interval + 1) * INTERVAL + 60
        index = 0

        def add(name, args):
            nonlocal index
            events.append(MirroredEvent(block, index, _hash(block), at, _hash(-block), "Community", name, args))
            index += 1

        for m, (imp, exp) in readings.items():
            add("ReadingSubmitted", {"interval": interval, "memberId": m, "importWh": imp, "exportWh": exp})
        add("IntervalSettled", {"interval": interval, "productionWh": outcome.production_wh,
                                "allocatedWh": outcome.allocated_wh, "paid": outcome.paid, "unpaid": outcome.unpaid,
                                "key": 0})
        for member in outcome.members:
            add("MemberSettled", {"interval": interval, "memberId": member.member_id,
                                  "allocatedWh": member.allocated_wh, "tokenDelta": member.token_delta})
            if member.member_id == 1 and dso is not None:
                figures += [Figure(DSO_POINT, interval * INTERVAL, Quantity.CONSUMPTION, readings[1][0]),
                            Figure(DSO_POINT, interval * INTERVAL, Quantity.COVERED, member.allocated_wh)]
        if len(events) > 20_000:
            count += len(events)
            mirror.append(events, {block: _hash(block)}, block, 32)
            events = []
    count += len(events)
    mirror.append(events, {block: _hash(block)}, block, 32)
    mirror.close()
    if dso is not None:
        dso.write(figures)
        dso.close()
    return count


DSO_POINT = "AT0030000000000000000000000000001"  # this node's metering point in the grid operator's figures


def _hash(n: int) -> str:
    return "0x" + n.to_bytes(32, "big", signed=True).hex()


def build(data_dir: Path, accounts: dict[int, str], days: int = 365, now: float | None = None) -> dict:
    """Fill `data_dir` with `days` of data ending at the last whole interval before `now`."""
    data_dir.mkdir(parents=True, exist_ok=True)
    end = int((now or time.time()) // INTERVAL * INTERVAL)
    start = end - days * 86400
    started = time.perf_counter()
    readings = fill_store(data_dir / "meter.sqlite", start, days)
    events = fill_mirror(data_dir / "mirror.sqlite", data_dir / "meter.sqlite", accounts, start, days,
                         data_dir / "dso.sqlite")
    return {"readings": readings, "events": events, "seconds": round(time.perf_counter() - started, 1),
            "first": start, "last": end}
