"""DSO benchmark: `gridcommons dso import` of a year of Austrian community data for 20 members, the
check of that year, and the check of one member's month from a node's own files.

Run: .venv/bin/python -m bench.dso_import
The file holds 20 metering points x 35,040 quarter-hours of 2023 (700,800 rows, one per point and
quarter-hour): 15 consumption points with G.01, G.02 and G.03, 5 generation points with G.01 and
P.01, kWh with decimal commas, Vienna wall-clock times (both clock changes included).
The import runs as the real command in its own process. Same-run baseline: DsoStore.write alone
storing the same figures, made in memory (nothing to parse). The year's check is the pure check
of all 20 members, month by month, with their figures read back from the DSO file; the month's
check is check_month over a real meter store, event mirror (20 members) and DSO file.
"""

from __future__ import annotations

import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from eth_utils import keccak

from bench.results import save
from node.dso.check import ChainInterval, MeterInterval, check_intervals, period_starts
from node.dso.quantities import Figure, Quantity
from node.dso.sources import check_month, dso_intervals, month_bounds
from node.dso.store import DsoStore
from node.mirror.db import MirroredEvent, MirrorDB
from node.store import MeterStore, Sample, StoreSettings

VIENNA = ZoneInfo("Europe/Vienna")
YEAR = 2023
MEMBERS = 20
PRODUCERS = 5
FIRST, _ = month_bounds(date(YEAR, 1, 1), VIENNA)
_, STOP = month_bounds(date(YEAR, 12, 1), VIENNA)
STARTS = period_starts(FIRST, STOP)
HEADER = ("Zählpunkt;Beginn;G.01 Gesamtverbrauch lt. Messung [kWh];G.02 Anteil gemeinschaftliche Erzeugung [kWh];"
          "G.03 Eigendeckung gemeinschaftliche Erzeugung [kWh];P.01 Überschusserzeugung [kWh]")


def point(member: int) -> str:
    return f"AT00300000000000000000000{member:08d}"


def values(member: int, index: int) -> dict[Quantity, int]:
    """A member's quarter-hour, deterministic: what the meter, the chain and the DSO all agree on."""
    rng = random.Random(member * 1_000_003 + index)
    imported = rng.randrange(20, 500)
    if member <= PRODUCERS:
        return {Quantity.CONSUMPTION: imported // 10, Quantity.SURPLUS: rng.randrange(0, 300)}
    covered = rng.randrange(0, imported)
    return {Quantity.CONSUMPTION: imported, Quantity.SHARE: covered, Quantity.COVERED: covered}


def kwh(wh: int | None) -> str:
    return "" if wh is None else f"{wh // 1000},{wh % 1000:03d}"


def write_file(path: Path) -> int:
    rows = 0
    with path.open("w", encoding="utf-8") as out:
        out.write("\ufeff" + HEADER + "\n")
        for index, start in enumerate(STARTS):
            wall = datetime.fromtimestamp(start, VIENNA).strftime("%d.%m.%Y %H:%M")
            for member in range(1, MEMBERS + 1):
                v = values(member, index)
                out.write(f"{point(member)};{wall};{kwh(v.get(Quantity.CONSUMPTION))};{kwh(v.get(Quantity.SHARE))};"
                          f"{kwh(v.get(Quantity.COVERED))};{kwh(v.get(Quantity.SURPLUS))}\n")
                rows += 1
    return rows


def baseline(db: Path) -> tuple[float, int]:
    figures = [Figure(point(m), start, q, wh) for i, start in enumerate(STARTS) for m in range(1, MEMBERS + 1)
               for q, wh in values(m, i).items()]
    started = time.perf_counter()
    with DsoStore(db) as store:
        for at in range(0, len(figures), 20_000):
            store.write(figures[at:at + 20_000])
    return time.perf_counter() - started, len(figures)


def timed_import(path: Path, db: Path) -> tuple[float, str]:
    command = [str(Path(sys.executable).with_name("gridcommons")), "dso", "import", str(path), "--db", str(db)]
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"import failed ({done.returncode}): {done.stderr[-500:]}")
    return elapsed, done.stdout.splitlines()[0]


def plain_sources(member: int, starts):
    meter, chain = {}, {}
    for start in starts:
        v = values(member, (start - FIRST) // 900)
        meter[start] = MeterInterval(v[Quantity.CONSUMPTION], 0)
        chain[start] = ChainInterval(True, v[Quantity.CONSUMPTION], 0, v.get(Quantity.COVERED, 0),
                                     v.get(Quantity.SURPLUS), 0, 10**17)
    return meter, chain


def check_year(db: Path) -> tuple[float, int, int]:
    """Seconds to check every member's every month (figures read back from the file), rows, agreeing."""
    months = [month_bounds(date(YEAR, month, 1), VIENNA) for month in range(1, 13)]
    # The node's meter and chain come made (in a node they are read from its files, below): only
    # reading the DSO file and checking are timed.
    inputs = {(first, member): plain_sources(member, period_starts(first, stop))
              for first, stop in months for member in range(1, MEMBERS + 1)}
    started = time.perf_counter()
    rows = agreeing = 0
    with DsoStore(db) as store:
        for first, stop in months:
            starts = period_starts(first, stop)
            for member in range(1, MEMBERS + 1):
                meter, chain = inputs[(first, member)]
                result = check_intervals(starts, meter, chain, dso_intervals(store, [point(member)], first, stop))
                rows += len(result.rows)
                agreeing += result.summary.agreeing
    return time.perf_counter() - started, rows, agreeing


def node_files(folder: Path, month: date) -> tuple[Path, Path]:
    """A consumer's meter store (a reading a minute) and a 20-member mirror for `month`."""
    first, stop = month_bounds(month, VIENNA)
    member = PRODUCERS + 1
    with MeterStore(folder / "meter.sqlite", StoreSettings(max_clock_skew=None)) as store:
        register = 1_000_000
        store.add_sample(Sample(first, "E1", register, 0))
        for start in period_starts(first, stop):
            wh = values(member, (start - FIRST) // 900)[Quantity.CONSUMPTION]
            for minute in range(1, 16):
                register += wh * minute // 15 - wh * (minute - 1) // 15
                store.add_sample(Sample(start + 60 * minute, "E1", register, 0))
    events, block = [], 0

    def emit(*named):
        nonlocal block
        block += 1
        for index, (name, args) in enumerate(named):
            events.append(MirroredEvent(block, index, "0x", block, "0x", "Community", name, args))

    emit(("LocalPriceChanged", {"pricePerKWh": 10**17}))
    for m in range(1, MEMBERS + 1):
        emit(("MemberAdded", {"memberId": m, "account": f"0x{m:040x}", "meterIdHash": "0x" + keccak(text=point(m)).hex()}),
             ("MemberProfileChanged", {"memberId": m, "producer": m <= PRODUCERS, "consumer": m > PRODUCERS,
                                       "coefficientPpm": 0, "priority": 0}))
    for start in period_starts(first, stop):
        interval, index = start // 900, (start - FIRST) // 900
        v = {m: values(m, index) for m in range(1, MEMBERS + 1)}
        emit(*[("ReadingSubmitted", {"interval": interval, "memberId": m, "importWh": v[m][Quantity.CONSUMPTION],
                                     "exportWh": 0}) for m in v])
        emit(*[("MemberSettled", {"interval": interval, "memberId": m, "allocatedWh": v[m].get(Quantity.COVERED, 0),
                                  "tokenDelta": 0}) for m in v],
             ("IntervalSettled", {"interval": interval, "productionWh": 0, "allocatedWh": 0, "paid": 0, "unpaid": 0,
                                  "key": 0}))
    db = MirrorDB(folder / "mirror.sqlite")
    db.append(events, {}, block, 32)
    db.close()
    return folder / "meter.sqlite", folder / "mirror.sqlite"


def check_one_month(folder: Path, db: Path) -> tuple[float, float, int]:
    """Median seconds of check_month from the three files, of the pure check alone, and rows agreeing."""
    month = date(YEAR, 6, 1)
    meter_path, mirror_path = node_files(folder, month)
    account = f"0x{PRODUCERS + 1:040x}"
    full, pure = [], []
    with MeterStore(meter_path) as store, DsoStore(db) as figures:
        mirror = MirrorDB(mirror_path)
        for _ in range(7):
            started = time.perf_counter()
            checked = check_month(store, mirror, figures, account, month, VIENNA)
            full.append(time.perf_counter() - started)
            meter, chain = plain_sources(PRODUCERS + 1, period_starts(checked.first, checked.stop))
            dso = dso_intervals(figures, checked.points, checked.first, checked.stop)
            started = time.perf_counter()
            check_intervals(period_starts(checked.first, checked.stop), meter, chain, dso)
            pure.append(time.perf_counter() - started)
        mirror.close()
    return statistics.median(full), statistics.median(pure), checked.summary.agreeing


def main() -> None:
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        path = folder / "eeg-2023.csv"
        rows = write_file(path)
        base_seconds, value_count = baseline(folder / "baseline.sqlite")
        import_seconds, summary = timed_import(path, folder / "dso.sqlite")
        again_seconds, again_summary = timed_import(path, folder / "dso.sqlite")
        year_seconds, checked_rows, agreeing = check_year(folder / "dso.sqlite")
        month_seconds, pure_seconds, month_agreeing = check_one_month(folder, folder / "dso.sqlite")
        size = path.stat().st_size
    rate = {"baseline": value_count / base_seconds, "import": value_count / import_seconds,
            "import_again": value_count / again_seconds}
    figures = {
        "rows": rows,
        "values": value_count,
        "file_mib": round(size / 2**20, 1),
        "seconds": {"baseline_store_write": round(base_seconds, 2), "import": round(import_seconds, 2),
                    "import_again": round(again_seconds, 2), "check_year_20_members": round(year_seconds, 2),
                    "import_and_check": round(import_seconds + year_seconds, 2)},
        "values_per_second": {name: round(value) for name, value in rate.items()},
        "ratio_to_baseline": {name: round(rate[name] / rate["baseline"], 2) for name in ("import", "import_again")},
        "check_year_rows": checked_rows,
        "check_year_agreeing": agreeing,
        "check_month_one_member_ms": round(month_seconds * 1000, 1),
        "check_month_pure_ms": round(pure_seconds * 1000, 1),
        "check_month_agreeing": month_agreeing,
        "targets": {"import_and_check_seconds": 30, "check_month_ms": 100},
    }
    print(f"{rows:,} rows ({MEMBERS} metering points x {len(STARTS):,} quarter-hours of {YEAR}), {value_count:,} values,"
          f" {size / 2**20:.1f} MiB")
    print(f"  baseline DsoStore.write          {rate['baseline']:>9,.0f} values/s  ({base_seconds:.1f} s)")
    print(f"  dso import                       {rate['import']:>9,.0f} values/s  ({import_seconds:.1f} s,"
          f" {rate['import'] / rate['baseline']:.2f}x baseline)")
    print(f"  dso import again (all unchanged) {rate['import_again']:>9,.0f} values/s  ({again_seconds:.1f} s)")
    print(f"  check of the year, 20 members    {year_seconds:.1f} s for {checked_rows:,} intervals ({agreeing:,} agree);"
          f" import + check {import_seconds + year_seconds:.1f} s (target 30 s)")
    print(f"  check_month, one member, from the node's files: {month_seconds * 1000:.1f} ms (target 100 ms);"
          f" the pure check alone {pure_seconds * 1000:.1f} ms")
    print(f"  {summary}\n  {again_summary}")
    save("dso_import", figures)


if __name__ == "__main__":
    main()
