"""Memory benchmark: peak RSS of `gridcommons meter read` (reader plus store) on a 1 Hz meter.

Run: .venv/bin/python -m bench.meter_memory [--minutes 10] [--speed 60]
A simulated DSMR 5 meter sends one telegram per meter-second on a pseudo-terminal, `--speed`
times faster than real time; the reader process stores every reading. Its peak RSS is what
the kernel reports for it when it exits.
"""

from __future__ import annotations

import argparse
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

from node.meter.dsmr.timestamps import METER_TIMEZONE
from node.meter.simulator.household import PROFILES, Household
from node.meter.simulator.meter import SimulatedMeter
from node.meter.simulator.output import PtyLine, pace
from bench.results import save



def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--speed", type=float, default=60)
    args = parser.parse_args()
    telegrams = int(args.minutes * 60)

    line = PtyLine()
    meter = SimulatedMeter(Household(PROFILES["prosumer"], 5), datetime.now(METER_TIMEZONE).replace(microsecond=0))
    with tempfile.TemporaryDirectory() as scratch:
        db = Path(scratch) / "meter.db"
        reader = subprocess.Popen(
            [str(Path(sys.executable).parent / "gridcommons"), "meter", "read", line.path, "--db", str(db), "--count", str(telegrams)],
            stderr=subprocess.PIPE,
            text=True,
        )
        # A meter does not wait for its reader; this one does, so that every telegram counts.
        while "connected" not in (reader.stderr.readline() or "connected"):
            pass
        started = time.perf_counter()
        sent = 0
        frames = iter(meter)
        while reader.poll() is None and sent < telegrams * 2:
            sent += pace(frames, line.write, interval=1.0, speed=args.speed, count=1)
        reader.wait(timeout=60)
        elapsed = time.perf_counter() - started
        summary = reader.stderr.read().strip().splitlines()
        line.close()
        peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        connection = sqlite3.connect(db)
        stored = connection.execute("SELECT count(*) FROM readings").fetchone()[0]
        connection.close()

    figures = {
        "meter_rate_hz": 1,
        "meter_minutes": args.minutes,
        "speed": args.speed,
        "telegrams_sent": sent,
        "readings_stored": stored,
        "wall_seconds": round(elapsed, 1),
        "peak_rss_mib": round(peak_kib / 1024, 1),
        "reader_exit": reader.returncode,
    }
    print(f"1 Hz meter, {args.minutes:g} min of meter time at {args.speed:g}x: {stored} readings stored in {elapsed:.1f} s")
    print(f"  reader + store peak RSS {peak_kib / 1024:.1f} MiB")
    if summary:
        print(f"  {summary[-1]}")
    save("meter_memory", figures)


if __name__ == "__main__":
    main()
