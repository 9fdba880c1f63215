"""Benchmark: time from the end of an interval until it is settled on chain.

Run: .venv/bin/python -m bench.node_settlement [--intervals 5] [--factor 60]
Three nodes (producer, consumer, prosumer) with simulated meters run against the project's anvil
in accelerated time. For every interval, the figure is the settling block's timestamp minus the
interval's end, in (simulated) seconds. The baseline is the contract's own floor: an interval can
be settled no earlier than its grace period after its end.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
from pathlib import Path

from node.chain.anvil import AnvilSettings, EmbeddedAnvil
from node.chain.client import connect
from node.chain.devnet import GRACE, INTERVAL, LocalCommunity, dev_account
from node.chain.timekeeper import ChainTimeKeeper
from node.runtime.clock import SimulatedClock
from node.runtime.devnode import DEV_ENV, write_dev_node
from node.runtime.node import NodeRuntime
from bench.results import save

PORT = 18711
HOUSEHOLDS = [("producer", 1, True, False), ("consumer", 2, False, True), ("prosumer", 3, True, True)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--intervals", type=int, default=5)
    parser.add_argument("--factor", type=float, default=60.0)
    args = parser.parse_args()

    with EmbeddedAnvil(AnvilSettings(port=PORT)) as anvil, tempfile.TemporaryDirectory() as scratch:
        w3 = connect(anvil.url)
        noon = (w3.eth.get_block("latest")["timestamp"] // 86400 + 1) * 86400 + 11 * 3600
        clock = SimulatedClock(args.factor, noon, time.time())
        keeper = ChainTimeKeeper(w3, clock)
        keeper.step()
        community = LocalCommunity(w3)
        runtimes = []
        for seed, (profile, index, producer, consumer) in enumerate(HOUSEHOLDS, start=1):
            community.admit(dev_account(index).address, producer, consumer)
            meter = f'source = "simulator"\nprofile = "{profile}"\nseed = {seed}\nevery_seconds = 10'
            config = write_dev_node(Path(scratch) / profile, profile, dev_account(index), community.deployment,
                                    anvil.url, meter, clock)
            runtimes.append(NodeRuntime(config, env=DEV_ENV))
        stop = threading.Event()
        ticker = threading.Thread(target=lambda: [keeper.step() for _ in iter(lambda: stop.wait(0.1), True)], daemon=True)
        ticker.start()
        contract = community.contracts["Community"]
        # The first interval starts before the meters do; measure the ones after it.
        first = int(clock()) // INTERVAL + 1
        wanted = range(first, first + args.intervals)
        for runtime in runtimes:
            runtime.start()
        started = time.perf_counter()
        try:
            while not all(contract.functions.isSettled(t).call() for t in wanted):
                if time.perf_counter() - started > 60 + args.intervals * INTERVAL / args.factor * 3:
                    raise SystemExit("intervals did not settle in time")
                time.sleep(0.5)
        finally:
            for runtime in runtimes:
                runtime.stop()
            stop.set()
            ticker.join()
        settled = {e.args.interval: e for e in contract.events.IntervalSettled().get_logs(from_block=0)}
        readings = contract.events.ReadingSubmitted().get_logs(from_block=0)
        latencies, last_readings = [], []
        for t in wanted:
            end = (t + 1) * INTERVAL
            latencies.append(w3.eth.get_block(settled[t].blockNumber)["timestamp"] - end)
            blocks = [r.blockNumber for r in readings if r.args.interval == t]
            last_readings.append(w3.eth.get_block(max(blocks))["timestamp"] - end)

    p50 = statistics.median(latencies)
    figures = {
        "nodes": len(HOUSEHOLDS),
        "intervals": args.intervals,
        "time_factor": args.factor,
        "grace_period_s": GRACE,
        "settled_after_end_s": latencies,
        "settled_after_end_p50_s": p50,
        "settled_after_end_max_s": max(latencies),
        "last_reading_after_end_p50_s": statistics.median(last_readings),
        "ratio_to_grace_floor": round(p50 / GRACE, 2),
        "node_overhead_wall_s": round((p50 - GRACE) / args.factor, 2),
    }
    print(f"{len(HOUSEHOLDS)} nodes, {args.intervals} intervals of {INTERVAL} s at {args.factor:g}x:")
    print(f"  settled {p50:.0f} s after the interval's end (p50; max {max(latencies)} s), "
          f"{p50 / GRACE:.2f}x the {GRACE} s grace floor")
    print(f"  last reading on chain {statistics.median(last_readings):.0f} s after the end (p50)")
    print(f"  node overhead beyond the grace period: {(p50 - GRACE) / args.factor:.2f} s of wall time")
    save("node_settlement", figures)


if __name__ == "__main__":
    main()
