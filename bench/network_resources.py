"""Benchmark: RSS and CPU of a node and its geth validator with a 1 Hz meter, against the node on anvil.

Run: .venv/bin/python -m bench.network_resources [--seconds 120] [--warmup 30]
Two communities of three households run side by side in real time with 60 s intervals: one on a
3-validator geth 1.13.15 Clique network (1 s blocks), one on the project's anvil (today's setup).
In each, one household runs `gridcommons node run` as its own process, reading a simulated DSMR 5
meter on a pseudo-terminal at one telegram a second; the other two run in this process with
simulated meters. Figures come from /proc as bench.node_resources takes them: the measured node,
its geth (the node's child process) and, as the baseline, the node on anvil (anvil itself is the
community's, not the household's). The window starts after a warm-up long enough for geth to
hand back its start-up memory; the start-up peak is reported beside it. Target: node plus geth at
most 300 MiB RSS and 5% of one core.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import tempfile
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path

from bench.network_latency import (HOUSEHOLDS, INTERVAL, PERIOD, anvil_community, free_port, keep_anvil_time,
                                   make_network, run_on_anvil)
from bench.node_resources import GRIDCOMMONS, feed, rss_mib, watch_processes
from bench.results import save
from node.chain.anvil import AnvilSettings, EmbeddedAnvil
from node.chain.devnet import dev_account
from node.meter.dsmr.timestamps import METER_TIMEZONE
from node.meter.simulator.output import PtyLine
from node.runtime.devnode import DEV_ENV, write_dev_config, write_dev_node
from node.runtime.node import NodeRuntime
from node.store.store import MeterStore

TARGET_RSS_MIB = 300
TARGET_CPU_PERCENT = 5.0
POLL_SECONDS = 2.0  # as bench.node_resources runs today's node


def serial_meter(line: PtyLine) -> str:
    return f'source = "serial"\ndevice = "{line.path}"\nstandard = "dsmr5"'


def child_named(parent: int, name: str) -> int | None:
    """The pid of `parent`'s child process called `name`, if it runs."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # it exited while we looked
            continue
        comm = stat[stat.index("(") + 1:stat.rindex(")")]
        if comm == name and int(stat.rsplit(")", 1)[1].split()[1]) == parent:
            return int(entry.name)
    return None


def spawn_node(config_path: Path) -> subprocess.Popen:
    return subprocess.Popen([GRIDCOMMONS, "node", "run", "--config", str(config_path)],
                            env={**os.environ, **DEV_ENV}, stderr=subprocess.DEVNULL)


def measured_on_anvil(community, url: str, root: Path, line: PtyLine) -> Path:
    """The last household's node folder on anvil, for `gridcommons node run`; its node.toml."""
    index = len(HOUSEHOLDS)
    name = HOUSEHOLDS[index - 1][0]
    write_dev_node(root / name, name, dev_account(index), community.deployment, url, serial_meter(line),
                   poll_seconds=POLL_SECONDS)
    return root / name / "node.toml"


def start_meter(line: PtyLine, seed: int, stopped: threading.Event) -> None:
    """One telegram a second on `line`, from now."""
    # Started once its reader runs: telegrams written before fill the terminal's buffer, and the
    # stalled meter then runs behind the clock.
    threading.Thread(target=feed, args=(line, seed, stopped), daemon=True).start()


def submitted_in(contract, account: str, start: float, end: float) -> int:
    """How many interval readings `account` had mined between the wall times start and end."""
    member = contract.functions.memberIdOf(account).call()
    w3 = contract.w3
    return sum(
        start <= w3.eth.get_block(r.blockNumber)["timestamp"] < end
        for r in contract.events.ReadingSubmitted().get_logs(from_block=0) if r.args.memberId == member
    )


def stored_in(config_path: Path, start: datetime, seconds: float) -> int:
    from node import config as node_config

    with MeterStore(node_config.load(config_path).store_path) as store:
        return len(store.readings(start, start + timedelta(seconds=seconds)))


def node_and_geth_rss(node_pid: int) -> float:
    """The node's RSS plus its geth's (none while geth is not up), MiB."""
    geth_pid = child_named(node_pid, "geth")
    return rss_mib(node_pid) + (rss_mib(geth_pid) if geth_pid else 0.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=120, help="the measured window")
    parser.add_argument("--warmup", type=float, default=30,
                        help="from the node's start; the start-up peak is measured through it")
    args = parser.parse_args()

    began = time.perf_counter()
    geth_line, anvil_line = PtyLine(), PtyLine()
    stopped = threading.Event()
    nodes: dict[str, subprocess.Popen] = {}
    anvil_runtimes: list[NodeRuntime] = []
    with tempfile.TemporaryDirectory() as scratch, EmbeddedAnvil(AnvilSettings(port=free_port())) as anvil:
        root = Path(scratch)
        net = make_network(root / "geth", HOUSEHOLDS, validators=len(HOUSEHOLDS))
        measured = net.households[-1]
        chain = (
            'client = "geth"\ngenesis = "genesis.json"\np2p_host = "127.0.0.1"\n'
            f"p2p_port = {measured.p2p_port}\npeers = {json.dumps([h.enode for h in net.households])}\n"
        )
        write_dev_config(measured.directory, measured.name, measured.rpc, serial_meter(geth_line),
                         poll_seconds=POLL_SECONDS, chain=chain)
        try:
            for household in net.households[:-1]:
                net.start(household)
            nodes["geth"] = spawn_node(measured.directory / "node.toml")
            spawned = time.perf_counter()
            start_meter(geth_line, 1, stopped)
            net.deploy(net.households)
            keep_anvil_time(anvil.url, stopped)
            on_anvil = anvil_community(anvil.url)
            anvil_runtimes = [run_on_anvil(on_anvil, anvil.url, root / "anvil", index)
                              for index in range(1, len(HOUSEHOLDS))]
            anvil_config = measured_on_anvil(on_anvil, anvil.url, root / "anvil", anvil_line)
            nodes["anvil"] = spawn_node(anvil_config)
            start_meter(anvil_line, 2, stopped)
            startup_peak = 0.0
            while time.perf_counter() - spawned < args.warmup:
                startup_peak = max(startup_peak, node_and_geth_rss(nodes["geth"].pid))
                time.sleep(1.0)
            geth_pid = child_named(nodes["geth"].pid, "geth")
            if geth_pid is None:
                raise SystemExit("the measured node's geth is not running after the warm-up")
            processes = {"node_geth": nodes["geth"].pid, "geth": geth_pid, "node_anvil": nodes["anvil"].pid,
                         "anvil": child_named(os.getpid(), "anvil")}
            window_wall, window_start = time.time(), datetime.now(METER_TIMEZONE)
            rss, cpu, wall = watch_processes(processes, args.seconds)
            if child_named(nodes["geth"].pid, "geth") != geth_pid:
                raise SystemExit("the measured node's geth restarted during the window")
            submitted = {
                "geth": submitted_in(net.community.contracts["Community"], measured.address, window_wall, window_wall + wall),
                "anvil": submitted_in(on_anvil.contracts["Community"], dev_account(len(HOUSEHOLDS)).address,
                                      window_wall, window_wall + wall),
            }
        finally:
            stopped.set()
            for process in nodes.values():
                process.terminate()
                process.wait(timeout=60)
            for runtime in anvil_runtimes:
                runtime.stop()
            net.stop()
            geth_line.close()
            anvil_line.close()
        stored = {"geth": stored_in(measured.directory / "node.toml", window_start, wall),
                  "anvil": stored_in(anvil_config, window_start, wall)}
    run_s = time.perf_counter() - began

    mean = {name: statistics.mean(samples) for name, samples in rss.items()}
    totals = [a + b for a, b in zip(rss["node_geth"], rss["geth"])]
    total_rss, total_max, total_cpu = statistics.mean(totals), max(totals), cpu["node_geth"] + cpu["geth"]
    startup_peak = max(startup_peak, total_max)
    within = total_max <= TARGET_RSS_MIB and total_cpu <= TARGET_CPU_PERCENT
    figures = {
        "meter_rate_hz": 1,
        "clique_period_s": PERIOD,
        "interval_s": INTERVAL,
        "warmup_s": args.warmup,
        "window_s": round(wall, 1),
        "node_on_geth_rss_mib_mean": round(mean["node_geth"], 1),
        "node_on_geth_cpu_percent": round(cpu["node_geth"], 2),
        "geth_rss_mib_mean": round(mean["geth"], 1),
        "geth_rss_mib_max": round(max(rss["geth"]), 1),
        "geth_cpu_percent": round(cpu["geth"], 2),
        "node_plus_geth_rss_mib_mean": round(total_rss, 1),
        "node_plus_geth_rss_mib_max": round(total_max, 1),
        "node_plus_geth_rss_mib_startup_peak": round(startup_peak, 1),
        "node_plus_geth_cpu_percent": round(total_cpu, 2),
        "node_on_anvil_rss_mib_mean": round(mean["node_anvil"], 1),
        "node_on_anvil_cpu_percent": round(cpu["node_anvil"], 2),
        "community_anvil_rss_mib_mean": round(mean["anvil"], 1),
        "community_anvil_cpu_percent": round(cpu["anvil"], 2),
        "rss_ratio_to_node_on_anvil": round(total_rss / mean["node_anvil"], 2),
        "cpu_ratio_to_node_on_anvil": round(total_cpu / cpu["node_anvil"], 2) if cpu["node_anvil"] else None,
        "node_rss_ratio_geth_to_anvil": round(mean["node_geth"] / mean["node_anvil"], 2),
        "node_cpu_ratio_geth_to_anvil": round(cpu["node_geth"] / cpu["node_anvil"], 2) if cpu["node_anvil"] else None,
        "target_rss_mib": TARGET_RSS_MIB,
        "target_cpu_percent": TARGET_CPU_PERCENT,
        "within_target": within,
        "startup_peak_within_target_rss": startup_peak <= TARGET_RSS_MIB,
        "readings_stored_in_window_geth": stored["geth"],
        "readings_stored_in_window_anvil": stored["anvil"],
        "intervals_submitted_in_window_geth": submitted["geth"],
        "intervals_submitted_in_window_anvil": submitted["anvil"],
        "run_s": round(run_s),
    }
    print(f"node run with a 1 Hz meter, {wall:.0f} s from {args.warmup:g} s after its start ({run_s:.0f} s run); "
          f"readings stored geth/anvil {stored['geth']}/{stored['anvil']}, intervals submitted "
          f"{submitted['geth']}/{submitted['anvil']}:")
    print(f"  node on geth  RSS {mean['node_geth']:.1f} MiB, CPU {cpu['node_geth']:.2f}% of one core")
    print(f"  its geth      RSS {mean['geth']:.1f} MiB (max {max(rss['geth']):.1f}), CPU {cpu['geth']:.2f}%")
    print(f"  together      RSS {total_rss:.1f} MiB (max {total_max:.1f}), CPU {total_cpu:.2f}%: "
          f"{'within' if within else 'OVER'} the target of {TARGET_RSS_MIB} MiB and {TARGET_CPU_PERCENT:g}%; "
          f"start-up peak {startup_peak:.1f} MiB ({'within' if startup_peak <= TARGET_RSS_MIB else 'OVER'})")
    print(f"  node on anvil RSS {mean['node_anvil']:.1f} MiB, CPU {cpu['node_anvil']:.2f}% (baseline; the community's "
          f"anvil {mean['anvil']:.1f} MiB, {cpu['anvil']:.2f}%)")
    print(f"  ratio         RSS {figures['rss_ratio_to_node_on_anvil']}x, CPU {figures['cpu_ratio_to_node_on_anvil']}x "
          f"(the node alone: {figures['node_rss_ratio_geth_to_anvil']}x, {figures['node_cpu_ratio_geth_to_anvil']}x)")
    save("network_resources", figures)


if __name__ == "__main__":
    main()
