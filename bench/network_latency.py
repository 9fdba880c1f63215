"""Benchmark: inclusion latency, interval end to settled, and block-time jitter on geth Clique against anvil.

Run: .venv/bin/python -m bench.network_latency [--intervals 2]
Three households, each a gridcommons node with its own geth 1.13.15 Clique validator (1 s blocks),
and in the same run and the same wall-clock intervals the same three households on the project's
anvil as the demo runs it today (a block per transaction, and one each second from the chain time
keeper). Real time, 60 s intervals, 10 s grace period.
Inclusion: a probe (a signed 0-value self-transfer) is timed from broadcast until the chain client
it was sent to returns its receipt; probes alternate between geth and anvil, each after a random
pause, so both chains get the same number at random moments of the block period. Settlement: the
settling block's timestamp minus the interval's end. Jitter: the gap between two blocks' first
appearance at one validator (polled every 25 ms), against the Clique period.
"""

from __future__ import annotations

import argparse
import logging
import random
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

from web3.exceptions import TransactionNotFound

from bench.results import save
from node.chain.anvil import AnvilSettings, EmbeddedAnvil
from node.chain.client import connect
from node.chain.devnet import LocalCommunity, dev_account
from node.chain.timekeeper import ChainTimeKeeper
from node.runtime.devnode import DEV_ENV, write_dev_node
from node.runtime.node import NodeRuntime

# Parts retry until the community is deployed and warn each time; that is expected here.
logging.getLogger("node").setLevel(logging.ERROR)
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "network"))
from netkit import GRACE, INTERVAL, PERIOD, free_port, make_network  # noqa: E402  (the tests' Clique community)

HOUSEHOLDS = [("de-vries", "producer", True, False), ("bakker", "consumer", False, True), ("smit", "prosumer", True, True)]
PROBE_ACCOUNT = 9  # an anvil dev account no household uses
RECEIPT_POLL_S = 0.02
HEAD_POLL_S = 0.025


def percentile(values: list[float], share: float) -> float:
    """Linear interpolation between the closest ranks."""
    ordered = sorted(values)
    rank = (len(ordered) - 1) * share
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


class Prober:
    """Times one account's probes on one chain client, from broadcast to receipt."""

    def __init__(self, url: str, account):
        self.w3 = connect(url)
        self.account = account
        self.chain_id = self.w3.eth.chain_id
        self.nonce = self.w3.eth.get_transaction_count(account.address, "pending")
        self.latencies: list[float] = []

    def probe(self) -> None:
        tx = {"to": self.account.address, "value": 0, "gas": 21_000, "gasPrice": self.w3.eth.gas_price,
              "nonce": self.nonce, "chainId": self.chain_id}
        raw = self.account.sign_transaction(tx).raw_transaction
        sent = time.perf_counter()
        tx_hash = self.w3.eth.send_raw_transaction(raw)
        self.nonce += 1
        while True:
            try:
                self.w3.eth.get_transaction_receipt(tx_hash)
                break
            except TransactionNotFound:
                if time.perf_counter() - sent > 60:
                    raise SystemExit(f"probe {tx_hash.hex()} not included within 60 s") from None
                time.sleep(RECEIPT_POLL_S)
        self.latencies.append(time.perf_counter() - sent)


class HeadWatch(threading.Thread):
    """Records when each block number first appears at one chain client."""

    def __init__(self, url: str, stopped: threading.Event):
        super().__init__(daemon=True)
        self.w3 = connect(url)
        self.first_seen: dict[int, float] = {}
        self.stopped = stopped

    def run(self) -> None:
        while not self.stopped.wait(HEAD_POLL_S):
            try:
                number = self.w3.eth.block_number
            except Exception:  # a slow answer on a busy machine: the next poll sees the block
                continue
            self.first_seen.setdefault(number, time.perf_counter())

    def gaps(self) -> list[float]:
        """Seconds between consecutive blocks' arrival, where both were seen."""
        seen = self.first_seen
        return [seen[n] - seen[n - 1] for n in sorted(seen) if n - 1 in seen]


def anvil_community(url: str) -> LocalCommunity:
    """HOUSEHOLDS as members of a community on anvil, dev accounts 1, 2, ... in order."""
    community = LocalCommunity(connect(url), interval=INTERVAL, grace=GRACE)
    for index, (_, _, producer, consumer) in enumerate(HOUSEHOLDS, start=1):
        community.admit(dev_account(index).address, producer, consumer)
    return community


def run_on_anvil(community: LocalCommunity, url: str, root: Path, index: int) -> NodeRuntime:
    """Household `index` (from 1) in this process, configured and metered as netkit does on geth."""
    name, profile, _, _ = HOUSEHOLDS[index - 1]
    meter = f'source = "simulator"\nprofile = "{profile}"\nseed = {len(name)}\nevery_seconds = 5'
    config = write_dev_node(root / name, name, dev_account(index), community.deployment, url, meter,
                            poll_seconds=0.5, settle_patience=45)
    runtime = NodeRuntime(config, env=DEV_ENV, backoff=(0.5, 2.0))
    runtime.start()
    return runtime


def keep_anvil_time(url: str, stopped: threading.Event) -> threading.Thread:
    """A block each wall-clock second, as the demo keeps today's anvil."""
    # Without it the contract's checks of interval ends see no time pass while no one transacts.
    keeper = ChainTimeKeeper(connect(url), time.time)
    thread = threading.Thread(target=lambda: [keeper.step() for _ in iter(lambda: stopped.wait(0.1), True)],
                              daemon=True)
    thread.start()
    return thread


def settled_after_end(contract, wanted: range) -> tuple[list[int], list[int], list[int]]:
    """Per interval: settling block time and last reading's block time minus the interval's end; readings."""
    w3 = contract.w3
    settled = {e.args.interval: e for e in contract.events.IntervalSettled().get_logs(from_block=0)}
    readings = contract.events.ReadingSubmitted().get_logs(from_block=0)
    settle, last_reading, count = [], [], []
    for t in wanted:
        end = (t + 1) * INTERVAL
        settle.append(w3.eth.get_block(settled[t].blockNumber)["timestamp"] - end)
        blocks = [r.blockNumber for r in readings if r.args.interval == t and r.blockNumber <= settled[t].blockNumber]
        last_reading.append(w3.eth.get_block(max(blocks))["timestamp"] - end)
        count.append(len(blocks))
    return settle, last_reading, count


def unsettled(contracts: dict, wanted: range) -> str:
    """Which chain lacks which settlement, and the readings it has for those intervals."""
    missing = []
    for name, contract in contracts.items():
        readings = contract.events.ReadingSubmitted().get_logs(from_block=0)
        for t in wanted:
            if not contract.functions.isSettled(t).call():
                missing.append(f"{name} {t} ({sum(r.args.interval == t for r in readings)} readings)")
    return ", ".join(missing)


def header_gaps(w3, first: int, last: int) -> list[int]:
    times = [w3.eth.get_block(n)["timestamp"] for n in range(first, last + 1)]
    return [b - a for a, b in zip(times, times[1:])]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--intervals", type=int, default=2)
    args = parser.parse_args()

    began = time.perf_counter()
    stopped = threading.Event()
    with tempfile.TemporaryDirectory() as scratch, EmbeddedAnvil(AnvilSettings(port=free_port())) as anvil:
        root = Path(scratch)
        net = make_network(root / "geth", HOUSEHOLDS, validators=len(HOUSEHOLDS))
        anvil_runtimes: list[NodeRuntime] = []
        try:
            for household in net.households:
                net.start(household)
            net.deploy(net.households)
            keep_anvil_time(anvil.url, stopped)
            on_anvil = anvil_community(anvil.url)
            anvil_runtimes = [run_on_anvil(on_anvil, anvil.url, root / "anvil", index)
                              for index in range(1, len(HOUSEHOLDS) + 1)]
            contracts = {"geth": net.community.contracts["Community"], "anvil": on_anvil.contracts["Community"]}
            probers = {"geth": Prober(net.households[0].rpc, net.admin),
                       "anvil": Prober(anvil.url, dev_account(PROBE_ACCOUNT))}
            # The first interval every node meters from its start on both chains.
            first = int(time.time()) // INTERVAL + 1
            wanted = range(first, first + args.intervals)
            head = HeadWatch(net.households[0].rpc, stopped)
            head.start()
            window_start_block = head.w3.eth.block_number
            pauses = random.Random(1)
            # The last interval's end, its grace, the nodes' 45 s settle patience and a margin.
            deadline = (first + args.intervals) * INTERVAL + GRACE + 45 + 60
            while not all(c.functions.isSettled(t).call() for c in contracts.values() for t in wanted):
                if time.time() > deadline:
                    raise SystemExit(f"intervals {list(wanted)} did not settle in time: " + unsettled(contracts, wanted))
                for prober in probers.values():
                    time.sleep(pauses.uniform(0, PERIOD))
                    prober.probe()
            stopped.set()
            head.join()
            settle = {name: settled_after_end(c, wanted) for name, c in contracts.items()}
            headers = header_gaps(head.w3, window_start_block, max(head.first_seen))
        finally:
            stopped.set()
            for runtime in anvil_runtimes:
                runtime.stop()
            net.stop()
    run_s = time.perf_counter() - began

    inclusion = {name: p.latencies for name, p in probers.items()}
    p50 = {name: statistics.median(v) for name, v in inclusion.items()}
    p95 = {name: percentile(v, 0.95) for name, v in inclusion.items()}
    settle_p50 = {name: statistics.median(s) for name, (s, _, _) in settle.items()}
    gaps = head.gaps()
    deviation = [abs(g - PERIOD) for g in gaps]
    figures = {
        "households": len(HOUSEHOLDS),
        "clique_period_s": PERIOD,
        "interval_s": INTERVAL,
        "grace_period_s": GRACE,
        "intervals": args.intervals,
        "probes_per_chain": len(inclusion["geth"]),
        "inclusion_geth_p50_s": round(p50["geth"], 3),
        "inclusion_geth_p95_s": round(p95["geth"], 3),
        "inclusion_anvil_p50_s": round(p50["anvil"], 4),
        "inclusion_anvil_p95_s": round(p95["anvil"], 4),
        "inclusion_p50_ratio_to_anvil": round(p50["geth"] / p50["anvil"], 1),
        "inclusion_p95_ratio_to_anvil": round(p95["geth"] / p95["anvil"], 1),
        "settled_after_end_geth_s": settle["geth"][0],
        "settled_after_end_anvil_s": settle["anvil"][0],
        "settled_after_end_geth_p50_s": settle_p50["geth"],
        "settled_after_end_anvil_p50_s": settle_p50["anvil"],
        "settled_ratio_to_anvil": round(settle_p50["geth"] / settle_p50["anvil"], 2),
        "readings_before_settlement_geth": settle["geth"][2],
        "readings_before_settlement_anvil": settle["anvil"][2],
        "last_reading_after_end_geth_p50_s": statistics.median(settle["geth"][1]),
        "last_reading_after_end_anvil_p50_s": statistics.median(settle["anvil"][1]),
        "blocks_observed": len(gaps) + 1,
        "block_gap_mean_s": round(statistics.mean(gaps), 3),
        "block_gap_stdev_s": round(statistics.stdev(gaps), 3),
        "block_gap_deviation_p95_s": round(percentile(deviation, 0.95), 3),
        "block_gap_max_s": round(max(gaps), 3),
        "block_gap_ratio_to_period": round(statistics.mean(gaps) / PERIOD, 3),
        "header_gaps_off_period_share": round(sum(g != PERIOD for g in headers) / len(headers), 3),
        "header_gap_max_s": max(headers),
        "run_s": round(run_s),
    }
    print(f"{len(HOUSEHOLDS)} households, geth Clique ({PERIOD} s blocks) and anvil side by side, "
          f"{args.intervals} intervals of {INTERVAL} s in real time ({run_s:.0f} s run):")
    print(f"  inclusion, {figures['probes_per_chain']} probes each: geth p50 {p50['geth']:.3f} s, p95 {p95['geth']:.3f} s; "
          f"anvil p50 {p50['anvil'] * 1000:.1f} ms, p95 {p95['anvil'] * 1000:.1f} ms; "
          f"ratio p50 {figures['inclusion_p50_ratio_to_anvil']}x, p95 {figures['inclusion_p95_ratio_to_anvil']}x")
    print(f"  settled after the interval's end: geth {settle['geth'][0]} s (p50 {settle_p50['geth']} s), "
          f"anvil {settle['anvil'][0]} s (p50 {settle_p50['anvil']} s), ratio {figures['settled_ratio_to_anvil']}x "
          f"(grace {GRACE} s; last reading p50 geth {figures['last_reading_after_end_geth_p50_s']} s, "
          f"anvil {figures['last_reading_after_end_anvil_p50_s']} s; readings before settling geth "
          f"{settle['geth'][2]}, anvil {settle['anvil'][2]})")
    print(f"  block gaps at a validator over {len(gaps)} blocks: mean {figures['block_gap_mean_s']} s "
          f"({figures['block_gap_ratio_to_period']}x the {PERIOD} s period), stdev {figures['block_gap_stdev_s']} s, "
          f"p95 deviation {figures['block_gap_deviation_p95_s']} s, max {figures['block_gap_max_s']} s; "
          f"header timestamps off the period in {figures['header_gaps_off_period_share']:.1%} of gaps")
    save("network_latency", figures)


if __name__ == "__main__":
    main()
