"""Benchmark: the node's steady-state RSS and CPU share with a 1 Hz meter.

Run: .venv/bin/python -m bench.node_resources [--seconds 60] [--warmup 20]
`gridcommons node run` reads a simulated DSMR 5 meter on a pseudo-terminal at one telegram per
second (real time), stores every reading, submits intervals and mirrors events against the
project's anvil. Baseline, in the same run: `gridcommons meter read` (reader and store only) on a
second meter line. Figures come from /proc: RSS sampled every second, CPU as (utime + stime) over
the window's wall time.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path

from node.chain.anvil import AnvilSettings, EmbeddedAnvil
from node.chain.client import connect
from node.chain.devnet import LocalCommunity, dev_account
from node.meter.dsmr.timestamps import METER_TIMEZONE
from node.meter.simulator.household import PROFILES, Household
from node.meter.simulator.meter import SimulatedMeter
from node.meter.simulator.output import PtyLine, pace
from node.runtime.devnode import DEV_ENV, write_dev_node
from bench.results import save

PORT = 18712
GRIDCOMMONS = str(Path(sys.executable).with_name("gridcommons"))
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def watch_processes(processes: dict[str, int], seconds: float) -> tuple[dict[str, list[float]], dict[str, float], float]:
    """RSS samples (MiB, one a second) and CPU share (% of one core) of each process over `seconds`."""
    cpu_before = {name: cpu_seconds(pid) for name, pid in processes.items()}
    rss: dict[str, list[float]] = {name: [] for name in processes}
    started = time.perf_counter()
    while time.perf_counter() - started < seconds:
        for name, pid in processes.items():
            rss[name].append(rss_mib(pid))
        time.sleep(1.0)
    wall = time.perf_counter() - started
    cpu = {name: (cpu_seconds(pid) - cpu_before[name]) / wall * 100 for name, pid in processes.items()}
    return rss, cpu, wall


def feed(line: PtyLine, seed: int, stop: threading.Event) -> None:
    meter = SimulatedMeter(Household(PROFILES["prosumer"], seed), datetime.now(METER_TIMEZONE).replace(microsecond=0))
    frames = iter(meter)
    while not stop.is_set():
        pace(frames, line.write, interval=1.0, speed=1.0, count=1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--warmup", type=float, default=20)
    args = parser.parse_args()

    with EmbeddedAnvil(AnvilSettings(port=PORT)) as anvil, tempfile.TemporaryDirectory() as scratch:
        w3 = connect(anvil.url)
        community = LocalCommunity(w3)
        community.admit(dev_account(1).address, True, True)
        node_line, reader_line = PtyLine(), PtyLine()
        config = write_dev_node(
            Path(scratch) / "node", "bench", dev_account(1), community.deployment, anvil.url,
            f'source = "serial"\ndevice = "{node_line.path}"\nstandard = "dsmr5"', poll_seconds=2.0,
        )
        stop = threading.Event()
        feeders = [threading.Thread(target=feed, args=(line, seed, stop), daemon=True)
                   for seed, line in ((1, node_line), (2, reader_line))]
        env = {**os.environ, **DEV_ENV}
        node = subprocess.Popen([GRIDCOMMONS, "node", "run", "--config", str(config.data_dir.parent / "node.toml")],
                                env=env, stderr=subprocess.DEVNULL)
        reader = subprocess.Popen([GRIDCOMMONS, "meter", "read", reader_line.path, "--db", str(Path(scratch) / "r.db")],
                                  stderr=subprocess.DEVNULL)
        for thread in feeders:
            thread.start()
        try:
            time.sleep(args.warmup)
            processes = {"node": node.pid, "reader": reader.pid}
            window_start = datetime.now(METER_TIMEZONE)
            rss, cpu, wall = watch_processes(processes, args.seconds)
        finally:
            stop.set()
            for process in (node, reader):
                process.terminate()
                process.wait(timeout=30)
            node_line.close()
            reader_line.close()
        from node.store.store import MeterStore

        with MeterStore(config.store_path) as store:
            stored = len(store.readings(window_start, window_start + timedelta(seconds=wall)))

    figures = {
        "meter_rate_hz": 1,
        "window_s": round(wall, 1),
        "node_rss_mib_mean": round(statistics.mean(rss["node"]), 1),
        "node_rss_mib_max": round(max(rss["node"]), 1),
        "node_cpu_percent": round(cpu["node"], 2),
        "reader_rss_mib_mean": round(statistics.mean(rss["reader"]), 1),
        "reader_cpu_percent": round(cpu["reader"], 2),
        "rss_ratio_to_reader": round(statistics.mean(rss["node"]) / statistics.mean(rss["reader"]), 2),
        "cpu_ratio_to_reader": round(cpu["node"] / cpu["reader"], 2) if cpu["reader"] else None,
        "node_readings_stored_in_window": stored,
    }
    print(f"node run with a 1 Hz meter, {wall:.0f} s after {args.warmup:g} s warm-up ({stored} readings stored in the window):")
    print(f"  node   RSS {figures['node_rss_mib_mean']} MiB (max {figures['node_rss_mib_max']}), CPU {cpu['node']:.2f}% of one core")
    print(f"  reader RSS {figures['reader_rss_mib_mean']} MiB, CPU {cpu['reader']:.2f}% (baseline: meter read + store only)")
    print(f"  ratio  RSS {figures['rss_ratio_to_reader']}x, CPU {figures['cpu_ratio_to_reader']}x")
    save("node_resources", figures)


if __name__ == "__main__":
    main()
