"""Import benchmark: `gridcommons meter import` of 30 days of 10-second data, as a CSV export and as a P1 capture.

Run: .venv/bin/python -m bench.meter_import [--days 30]
Each import runs as the real command in its own process, into a fresh store; its peak RSS is what
the kernel reports for that process. Same-run baselines: the store's own write path,
MeterStore.add_samples, for the CSV's samples as they are made (nothing to parse, nothing thinned);
and for the capture, the meter decoder alone on the same bytes (parsing, nothing stored).
The data ends an hour ago: the last 7 days stay raw, older days are thinned to one reading a minute.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

from node.meter.decoder import MeterDecoder
from node.meter.dsmr.timestamps import METER_TIMEZONE
from node.meter.simulator.household import PROFILES, Household
from node.meter.simulator.meter import SimulatedMeter
from node.store import MeterStore, Sample, StoreSettings
from bench.results import save

STEP = 10
METER_ID = "E0099000000002024"


def csv_samples(start: datetime, count: int):
    """10-second readings of a prosumer household; power taken from the model once a minute."""
    household = Household(PROFILES["prosumer"], 2024)
    import_mwh = export_mwh = 0
    ts = int(start.timestamp())
    for index in range(count):
        if index % (60 // STEP) == 0:
            moment = start + timedelta(seconds=index * STEP)
            load, pv = household.load_w(moment), household.pv_w(moment)
            import_w, export_w = round(max(load - pv, 0)), round(max(pv - load, 0))
        yield Sample(ts, METER_ID, import_mwh // 1000, export_mwh // 1000, import_w, export_w)
        import_mwh += import_w * STEP * 1000 // 3600
        export_mwh += export_w * STEP * 1000 // 3600
        ts += STEP


def write_csv(path: Path, start: datetime, count: int) -> None:
    """A Dutch-style export: semicolons, decimal commas, times with their offset."""
    with path.open("w") as out:
        out.write("timestamp;import_kwh;export_kwh;import_w;export_w;meter_id\n")
        for s in csv_samples(start, count):
            moment = datetime.fromtimestamp(s.ts, METER_TIMEZONE).isoformat()
            out.write(f"{moment};{s.import_wh // 1000},{s.import_wh % 1000:03d};{s.export_wh // 1000},"
                      f"{s.export_wh % 1000:03d};{s.import_w};{s.export_w};{s.meter_id}\n")


def write_p1(path: Path, start: datetime, count: int) -> None:
    """What `gridcommons meter simulate --interval 10 --output` records: DSMR 5 telegrams."""
    meter = SimulatedMeter(Household(PROFILES["prosumer"], 2024), start - timedelta(seconds=STEP), interval=STEP)
    with path.open("wb") as out:
        for _ in range(count):
            out.write(meter.step()[1])


def timed_import(path: Path, db: Path) -> tuple[float, float, str]:
    """Seconds, peak RSS (MiB) and summary line of the real command importing `path` into `db`.

    The peak is the process's own VmHWM, read until it exits: getrusage would also count this
    process's memory, which a child's maxrss inherits across fork and exec.
    """
    command = [str(Path(sys.executable).with_name("gridcommons")), "meter", "import", str(path), "--db", str(db)]
    started = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.DEVNULL, text=True)
        peak_kib = 0
        while process.poll() is None:
            peak_kib = max(peak_kib, _high_water_kib(process.pid))
            time.sleep(0.05)
        elapsed = time.perf_counter() - started
        out.seek(0)
        summary = out.readline().strip()
    if process.returncode != 0:
        raise SystemExit(f"import failed ({process.returncode}): {summary}")
    return elapsed, peak_kib / 1024, summary


def _high_water_kib(pid: int) -> int:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    return next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM:")), 0)


def baseline(db: Path, start: datetime, count: int) -> float:
    """Seconds for MeterStore.add_samples to store the same samples (batches of 600, intervals closed)."""
    started = time.perf_counter()
    with MeterStore(db, StoreSettings(max_clock_skew=None)) as store:
        store.add_samples(csv_samples(start, count))
    return time.perf_counter() - started


def decoder_only(path: Path) -> float:
    """Seconds for MeterDecoder alone to read the capture, in 64 KiB chunks as `meter parse` reads."""
    decoder = MeterDecoder(formats=frozenset({"dsmr"}))
    started = time.perf_counter()
    with path.open("rb") as capture:
        while chunk := capture.read(65536):
            decoder.feed(chunk)
    decoder.finish()
    return time.perf_counter() - started


def stored(db: Path) -> tuple[int, int]:
    with MeterStore(db) as store:
        return store.db.execute("SELECT count(*), sum(samples) FROM readings").fetchone()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=30)
    args = parser.parse_args()
    count = args.days * 86400 // STEP
    start = datetime.fromtimestamp((time.time() - 3600 - count * STEP) // 60 * 60, METER_TIMEZONE)

    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        csv_file, p1_file = folder / "export.csv", folder / "capture.p1"
        write_csv(csv_file, start, count)
        write_p1(p1_file, start, count)
        base_seconds = baseline(folder / "baseline.db", start, count)
        decode_seconds = decoder_only(p1_file)
        csv_seconds, csv_rss, csv_summary = timed_import(csv_file, folder / "csv.db")
        p1_seconds, p1_rss, p1_summary = timed_import(p1_file, folder / "p1.db")
        again_seconds, _, again_summary = timed_import(csv_file, folder / "csv.db")
        rows, samples = stored(folder / "csv.db")
        sizes = {"csv": csv_file.stat().st_size, "p1": p1_file.stat().st_size}

    rate = {name: count / seconds for name, seconds in
            (("baseline", base_seconds), ("decoder", decode_seconds), ("csv", csv_seconds), ("p1", p1_seconds),
             ("csv_again", again_seconds))}
    figures = {
        "days": args.days,
        "records": count,
        "file_mib": {name: round(size / 2**20, 1) for name, size in sizes.items()},
        "seconds": {"baseline_add_samples": round(base_seconds, 1), "baseline_decoder": round(decode_seconds, 1),
                    "csv": round(csv_seconds, 1),
                    "p1": round(p1_seconds, 1), "csv_again": round(again_seconds, 1)},
        "records_per_second": {name: round(value) for name, value in rate.items()},
        "ratio_to_baseline": {name: round(rate[name] / rate["baseline"], 2) for name in ("csv", "p1", "csv_again")},
        "p1_ratio_to_decoder": round(rate["p1"] / rate["decoder"], 2),
        "peak_rss_mib": {"csv": round(csv_rss, 1), "p1": round(p1_rss, 1)},
        "rows_kept": rows,
        "samples_kept": samples,
        "year_estimate_seconds": {name: round(365 * 86400 / STEP / rate[name]) for name in ("csv", "p1")},
    }
    print(f"{count:,} readings at {STEP} s ({args.days} days), ending an hour ago")
    print(f"  baseline MeterStore.add_samples   {rate['baseline']:>9,.0f} records/s  ({base_seconds:.1f} s)")
    print(f"  baseline MeterDecoder on the P1   {rate['decoder']:>9,.0f} records/s  ({decode_seconds:.1f} s)")
    for name, label, size in (("csv", "CSV export", sizes["csv"]), ("p1", "P1 capture", sizes["p1"])):
        rss = csv_rss if name == "csv" else p1_rss
        print(f"  meter import {label} {size / 2**20:6.1f} MiB {rate[name]:>9,.0f} records/s "
              f"({rate[name] / rate['baseline']:.2f}x baseline), peak RSS {rss:.1f} MiB")
    print(f"  P1 import / decoder alone: {rate['p1'] / rate['decoder']:.2f}x; CSV again (all duplicates)"
          f" {rate['csv_again']:,.0f} records/s")
    print(f"  kept {rows:,} rows for {samples:,} readings; a year would take ~{figures['year_estimate_seconds']['csv']} s"
          f" (CSV), ~{figures['year_estimate_seconds']['p1']} s (P1)")
    print(f"  {csv_summary}\n  {p1_summary}\n  {again_summary}")
    save("meter_import", figures)


if __name__ == "__main__":
    main()
