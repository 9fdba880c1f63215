"""Benchmark: time for a new household's validator to sync, be voted in and seal its first block.

Run: .venv/bin/python -m bench.network_join [--height 60]
Three founders' nodes run geth 1.13.15 Clique validators (1 s blocks) in real time and the admin
deploys the community through them. A fourth household's node then starts from genesis; once its
geth has the network's head, the admin admits it (five transactions: membership, gas money,
prepaid credits), the founders' nodes vote it in and it seals. Baseline, in the same run: a
founder's node stopped and started again with the chain it already has, timed until its validator
seals again (a validator the network knows, so no sync from genesis and no vote).
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import threading
import time
from pathlib import Path

from bench.results import save
from node.chain.client import connect

# Parts retry until the community is deployed and warn each time; that is expected here.
logging.getLogger("node").setLevel(logging.ERROR)
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "network"))
from netkit import PERIOD, make_network, signer_of, signers  # noqa: E402  (the tests' Clique community)

# (name, simulated profile, producer, consumer): three founders seal from genesis, the last one joins.
HOUSEHOLDS = [
    ("de-vries", "producer", True, False),
    ("bakker", "consumer", False, True),
    ("smit", "prosumer", True, True),
    ("jansen", "prosumer", True, True),
]
FOUNDERS = 3
POLL_S = 0.1
PHASE_TIMEOUT_S = 120


def wait_for(predicate, what: str) -> float:
    """The perf_counter time at which `predicate()` first holds."""
    started = time.perf_counter()
    while not predicate():
        if time.perf_counter() - started > PHASE_TIMEOUT_S:
            raise SystemExit(f"{what} did not happen within {PHASE_TIMEOUT_S} s")
        time.sleep(POLL_S)
    return time.perf_counter()


class SealWatch:
    """Whether `account` has sealed a block after block `after`, as one chain client sees it."""

    def __init__(self, w3, account: str, after: int):
        self.w3 = w3
        self.account = account.lower()
        self.next = after + 1
        self.block: int | None = None

    def sealed(self) -> bool:
        head = self.w3.eth.block_number
        while self.block is None and self.next <= head:
            if signer_of(self.w3, self.next).lower() == self.account:
                self.block = self.next
            self.next += 1
        return self.block is not None


def restart_known_validator(net, household) -> dict:
    """Stop a founder's node, let the others seal on, start it again: seconds until it seals."""
    network = net.w3()
    household.runtime.stop()
    household.runtime = None
    stopped_at = network.eth.block_number
    wait_for(lambda: network.eth.block_number >= stopped_at + 5, "sealing by the other founders")
    target = network.eth.block_number
    began = time.perf_counter()
    net.start(household)
    up = time.perf_counter()
    own = connect(household.rpc)
    synced = wait_for(lambda: own.eth.block_number >= target, "the restarted validator's catch-up")
    seal = SealWatch(own, household.address, target)
    sealed = wait_for(seal.sealed, "the restarted validator's first seal")
    return {"node_up_s": up - began, "synced_s": synced - began, "first_seal_s": sealed - began,
            "blocks_missed": target - stopped_at}


def join_new_validator(net, household) -> dict:
    """Start a new household's node from genesis, admit it once synced: seconds until it seals."""
    network = net.w3()
    community = net.community.contracts["Community"]
    membership = network.eth.contract(address=community.address, abi=community.abi)
    target = network.eth.block_number
    began = time.perf_counter()
    net.start(household)
    up = time.perf_counter()
    own = connect(household.rpc)
    synced = wait_for(lambda: own.eth.block_number >= target, "the new validator's sync from genesis")
    # The admin's transactions run beside the watch: the founders vote as soon as the member exists.
    admission = {}
    admin = threading.Thread(target=lambda: (net.admit(household), admission.update(done=time.perf_counter())))
    admin.start()
    member = wait_for(lambda: membership.functions.memberIdOf(household.address).call() != 0, "the membership")
    voted_in = wait_for(lambda: household.address.lower() in signers(network), "the founders' vote")
    seal = SealWatch(own, household.address, target)
    sealed = wait_for(seal.sealed, "the new validator's first seal")
    admin.join()
    return {"node_up_s": up - began, "synced_s": synced - began, "blocks_synced": target,
            "member_after_synced_s": member - synced, "admission_s": admission["done"] - synced,
            "voted_in_after_member_s": voted_in - member, "first_seal_after_voted_in_s": sealed - voted_in,
            "first_seal_s": sealed - began, "first_seal_after_member_s": sealed - member}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--height", type=int, default=60, help="blocks the chain has before anyone (re)joins")
    args = parser.parse_args()

    began = time.perf_counter()
    with tempfile.TemporaryDirectory() as scratch:
        net = make_network(Path(scratch), HOUSEHOLDS, validators=FOUNDERS)
        founders, newcomer = net.households[:FOUNDERS], net.households[FOUNDERS]
        try:
            for household in founders:
                net.start(household)
            net.deploy(founders)  # every node, the newcomer's too, gets the deployment record
            network = net.w3()
            wait_for(lambda: network.eth.block_number >= args.height, f"block {args.height}")
            known = restart_known_validator(net, founders[-1])
            new = join_new_validator(net, newcomer)
        finally:
            net.stop()
    run_s = time.perf_counter() - began

    ratio = new["first_seal_s"] / known["first_seal_s"]
    figures = {
        "founders": len(founders),
        "clique_period_s": PERIOD,
        **{f"new_{key}": round(value, 2) for key, value in new.items()},
        **{f"restart_{key}": round(value, 2) for key, value in known.items()},
        "first_seal_ratio_to_restart": round(ratio, 2),
        "run_s": round(run_s),
    }
    print(f"{len(founders)} founders' geth Clique validators ({PERIOD} s blocks), a fourth household joins ({run_s:.0f} s run):")
    print(f"  new validator: node up {new['node_up_s']:.1f} s, synced {new['blocks_synced']} blocks from genesis "
          f"{new['synced_s']:.1f} s after start; then the admin's membership mined {new['member_after_synced_s']:.1f} s "
          f"later (all five admission transactions {new['admission_s']:.1f} s), voted in "
          f"{new['voted_in_after_member_s']:.1f} s after the membership, first seal "
          f"{new['first_seal_after_voted_in_s']:.1f} s after the vote")
    print(f"  start to first seal {new['first_seal_s']:.1f} s; membership to first seal {new['first_seal_after_member_s']:.1f} s")
    print(f"  baseline, a founder restarted with its chain ({known['blocks_missed']} blocks missed): node up "
          f"{known['node_up_s']:.1f} s, synced {known['synced_s']:.1f} s, seals again {known['first_seal_s']:.1f} s after start")
    print(f"  ratio, start to first seal: {ratio:.2f}x the restart")
    save("network_join", figures)


if __name__ == "__main__":
    main()
