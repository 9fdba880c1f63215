"""Store benchmark: a year of 10-second readings through the local store, then aggregate queries.

Run: .venv/bin/python -m bench.meter_store [--days 365] [--queries 40]
Reports the import time, the database size, and the p95 latency of day/week/month/year aggregates.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path

from node.meter.dsmr.timestamps import METER_TIMEZONE
from node.meter.simulator.household import PROFILES, Household
from node.store import MeterStore, Sample, StoreSettings
from bench.results import save

STEP = 10
START = datetime(2024, 1, 1, tzinfo=METER_TIMEZONE)


def year_of_samples(days: int):
    """10-second readings of a prosumer household; power taken from the model once a minute."""
    household = Household(PROFILES["prosumer"], 2024)
    import_mwh = export_mwh = 0
    ts = int(START.timestamp())
    for minute in range(days * 1440):
        moment = START + timedelta(minutes=minute)
        load, pv = household.load_w(moment), household.pv_w(moment)
        import_w, export_w = round(max(load - pv, 0)), round(max(pv - load, 0))
        for _ in range(60 // STEP):
            yield Sample(ts, "E0099000000002024", import_mwh // 1000, export_mwh // 1000, import_w, export_w)
            import_mwh += import_w * STEP * 1000 // 3600
            export_mwh += export_w * STEP * 1000 // 3600
            ts += STEP


def p95_ms(store: MeterStore, period: str, days: int, queries: int, rng: random.Random) -> float:
    timings = []
    for _ in range(queries):
        day = START.date() + timedelta(days=rng.randrange(days))
        started = time.perf_counter()
        store.aggregate(period, day)
        timings.append((time.perf_counter() - started) * 1000)
    return statistics.quantiles(timings, n=20)[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--queries", type=int, default=40, help="queries per period for the p95")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "meter.db"
        now = [START.timestamp()]
        store = MeterStore(path, StoreSettings(), clock=lambda: now[0])
        started = time.perf_counter()
        count = 0
        for sample in year_of_samples(args.days):
            now[0] = sample.ts
            store.add_sample(sample)
            count += 1
        store.flush()
        store.maintain()
        imported = time.perf_counter() - started
        store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        size = path.stat().st_size
        rows = store.db.execute("SELECT count(*) FROM readings").fetchone()[0]
        intervals = store.db.execute("SELECT count(*) FROM intervals").fetchone()[0]

        rng = random.Random(7)
        latencies = {period: p95_ms(store, period, args.days, args.queries, rng) for period in ("day", "week", "month", "year")}
        year = store.aggregate("year", date(2024, 6, 1))
        store.close()

    figures = {
        "readings": count,
        "import_seconds": round(imported, 1),
        "readings_per_second": round(count / imported),
        "db_bytes": size,
        "db_mib": round(size / 2**20, 1),
        "rows_kept": rows,
        "intervals": intervals,
        "p95_ms": {period: round(value, 2) for period, value in latencies.items()},
        "target_p95_ms": 50,
        "year_import_kwh": round(year.import_wh / 1000, 1),
        "year_export_kwh": round(year.export_wh / 1000, 1),
    }
    print(f"{count:,} readings at {STEP} s ({args.days} days) imported in {imported:.1f} s ({count / imported:,.0f}/s)")
    print(f"database {size / 2**20:.1f} MiB: {rows:,} reading rows kept (7 days raw, then 1/min), {intervals:,} intervals")
    for period, value in latencies.items():
        print(f"  {period:<5} aggregate p95 {value:6.2f} ms (target < 50 ms)")
    print(f"year: imported {year.import_wh / 1000:,.1f} kWh, exported {year.export_wh / 1000:,.1f} kWh")
    save("meter_store", figures)


if __name__ == "__main__":
    main()
