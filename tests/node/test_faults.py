"""Faults: the chain stops for five intervals, a node is killed with SIGKILL mid-submission.
Either way every interval ends up on chain exactly once and balances equal the reference."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from node.chain.devnet import INTERVAL, LocalCommunity, dev_account
from nodekit import ENV, KeptTime, chain_record, reference_balances, wait_until, write_node

from node.chain.anvil import AnvilSettings, EmbeddedAnvil
from node.chain.client import connect
from node.runtime.node import NodeRuntime
from node.submit.outbox import MISSED, Outbox

FACTOR = 120.0  # a 15-minute interval in 7.5 s
HOUSEHOLDS = [("producer", 1, True, False), ("consumer", 2, False, True)]
ROLES = {1: (True, False), 2: (False, True)}
GRIDCOMMONS = str(Path(sys.executable).with_name("gridcommons"))


@pytest.fixture
def own_chain(tmp_path):
    """A chain of the test's own, which it may stop and restart (state kept in a file)."""
    def start(port: int, block_time: float | None = None) -> EmbeddedAnvil:
        chain = EmbeddedAnvil(AnvilSettings(port=port, state_file=tmp_path / "chain-state.json", block_time=block_time))
        chain.start()
        started.append(chain)
        return chain

    started: list[EmbeddedAnvil] = []
    yield start
    for chain in started:
        chain.stop()


def community_at_noon(w3):
    latest = w3.eth.get_block("latest")["timestamp"]
    noon = (latest // 86400 + 1) * 86400 + 11 * 3600
    w3.provider.make_request("evm_setTime", [noon])
    w3.provider.make_request("evm_mine", [])
    community = LocalCommunity(w3)
    for _, index, producer, consumer in HOUSEHOLDS:
        community.admit(dev_account(index).address, producer, consumer)
    return community, w3.eth.get_block("latest")["timestamp"]


def assert_exactly_once_and_reference(contract, intervals, outboxes):
    settled, readings = chain_record(contract)
    assert set(intervals) <= set(settled)
    assert max(Counter(settled).values()) == 1
    per_member = Counter((r.args.interval, r.args.memberId) for r in readings)
    assert max(per_member.values()) == 1
    assert {(i, m) for i in intervals for m in ROLES} <= set(per_member)
    assert [Outbox(path).count(MISSED) for path in outboxes] == [0] * len(outboxes)
    actual = {m: contract.functions.memberLedger(m).call()[0] for m in ROLES}
    assert actual == reference_balances(readings, settled, ROLES)


def test_a_chain_down_for_five_intervals_loses_and_doubles_nothing(own_chain, tmp_path):
    chain = own_chain(18647)
    w3 = connect(chain.url)
    community, now = community_at_noon(w3)
    kept = KeptTime(w3, now, FACTOR)
    runtimes = [
        NodeRuntime(
            write_node(tmp_path / p, p, i, p, community.deployment, chain.url, kept.clock, seed, settle_patience=1800),
            env=ENV, backoff=(0.5, 1.0),
        )
        for seed, (p, i, _, _) in enumerate(HOUSEHOLDS, start=1)
    ]
    contract = community.contracts["Community"]
    first = int(kept.clock()) // INTERVAL
    for runtime in runtimes:
        runtime.start()
    try:
        assert wait_until(lambda: contract.functions.isSettled(first).call(), timeout=60)
        chain.stop()
        down_from = int(kept.clock()) // INTERVAL
        time.sleep(5.2 * INTERVAL / FACTOR)
        depth_while_down = [Outbox(r.config.outbox_path).depth() for r in runtimes]
        chain.start()
        last = int(kept.clock()) // INTERVAL - 1
        w3 = connect(chain.url)
        contract = w3.eth.contract(address=contract.address, abi=contract.abi)
        assert wait_until(lambda: all(contract.functions.isSettled(t).call() for t in range(first, last + 1)), timeout=90)
    finally:
        for runtime in runtimes:
            runtime.stop()
        kept.stop()

    assert min(depth_while_down) >= 4
    assert last - down_from + 1 >= 5  # intervals that closed while the chain was down
    assert_exactly_once_and_reference(contract, range(first, last + 1), [r.config.outbox_path for r in runtimes])


def _sending(outbox: Path) -> bool:
    try:
        db = sqlite3.connect(f"file:{outbox}?mode=ro", uri=True, timeout=0.1)
        try:
            return db.execute("SELECT 1 FROM outbox WHERE state = 'sending'").fetchone() is not None
        finally:
            db.close()
    except sqlite3.Error:
        return False


def test_a_node_killed_mid_submission_resumes_without_loss_or_duplicates(own_chain, tmp_path):
    # Blocks every second, so a submission sits broadcast but unmined long enough to be killed there.
    chain = own_chain(18648, block_time=1)
    w3 = connect(chain.url)
    community, now = community_at_noon(w3)
    kept = KeptTime(w3, now, FACTOR)
    kept.keeper.mine = False
    configs = [
        write_node(tmp_path / p, p, i, p, community.deployment, chain.url, kept.clock, seed, settle_patience=1800)
        for seed, (p, i, _, _) in enumerate(HOUSEHOLDS, start=1)
    ]
    env = {**os.environ, **ENV}

    def start(config) -> subprocess.Popen:
        return subprocess.Popen([GRIDCOMMONS, "node", "run", "--config", str(config.data_dir.parent / "node.toml")],
                                env=env, stderr=subprocess.DEVNULL)

    processes = [start(config) for config in configs]
    contract = community.contracts["Community"]
    first = int(kept.clock()) // INTERVAL
    kills = 0
    try:
        consumer = configs[1]
        for _ in range(3):
            outbox = consumer.outbox_path
            assert wait_until(lambda: _sending(outbox), timeout=60, every=0.01)
            processes[1].send_signal(signal.SIGKILL)
            processes[1].wait()
            kills += 1
            processes[1] = start(consumer)
        last = int(kept.clock()) // INTERVAL
        assert wait_until(lambda: all(contract.functions.isSettled(t).call() for t in range(first, last + 1)), timeout=90)
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            process.wait(timeout=20)
        kept.stop()

    assert kills == 3
    assert_exactly_once_and_reference(contract, range(first, last + 1), [c.outbox_path for c in configs])
