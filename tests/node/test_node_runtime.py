"""Three nodes with simulated meters run accelerated intervals against the project's anvil:
every interval is settled once and balances equal the Python reference allocation."""

from __future__ import annotations

import threading
import time
from collections import Counter

import pytest
from chainkit import INTERVAL, MANIFEST, PREPAID, PRICE_PER_KWH, dev_account

from node import config as node_config
from node.allocation import AllocationKey
from node.chain.keystore import create_keystore
from node.chain.timekeeper import ChainTimeKeeper
from node.runtime.clock import SimulatedClock
from node.runtime.node import NodeRuntime
from node.settlement import MemberInterval, settle_interval

FACTOR = 90.0  # a 15-minute interval in 10 s
PASSPHRASE = {"GRIDCOMMONS_NODE_PASSPHRASE": "correct horse battery staple"}


def write_config(directory, name, account_index, profile, community, anvil, clock, seed):
    directory.mkdir()
    keystore = directory / "node-key.json"
    from eth_account import Account

    encrypted = Account.encrypt(dev_account(account_index).key, PASSPHRASE["GRIDCOMMONS_NODE_PASSPHRASE"])
    import json

    keystore.write_text(json.dumps(encrypted))
    keystore.chmod(0o600)
    deployment = directory / "deployment.json"
    from dataclasses import asdict

    deployment.write_text(json.dumps(asdict(community.deployment)))
    (directory / "node.toml").write_text(
        f"""
[node]
name = "{name}"
data_dir = "data"

[chain]
rpc = "{anvil.url}"
deployment = "deployment.json"
manifest = "{MANIFEST}"
keystore = "node-key.json"
poll_seconds = 0.2
settle_patience = 120

[meter]
source = "simulator"
profile = "{profile}"
seed = {seed}
every_seconds = 10

[clock]
time_factor = {FACTOR}
start = {clock.start}
wall_start = {clock.wall_start}
"""
    )
    return node_config.load(directory / "node.toml")


@pytest.fixture
def accelerated(w3, clock):
    """Simulated time from the test chain's clock on, and a keeper that drags the chain along."""
    simulated = SimulatedClock(FACTOR, clock.now, time.time())
    keeper = ChainTimeKeeper(w3, simulated)
    stop = threading.Event()

    def keep() -> None:
        while not stop.wait(0.1):
            keeper.step()

    thread = threading.Thread(target=keep, daemon=True)
    thread.start()
    yield simulated
    stop.set()
    thread.join()


def test_three_nodes_settle_every_interval_once_matching_the_reference(w3, community, accelerated, anvil, tmp_path):
    households = [("producer", 1, True, False), ("consumer", 2, False, True), ("prosumer", 3, True, True)]
    runtimes = []
    for seed, (profile, index, producer, consumer) in enumerate(households, start=1):
        community.admit(dev_account(index).address, producer, consumer)
        config = write_config(tmp_path / profile, profile, index, profile, community, anvil, accelerated, seed)
        runtimes.append(NodeRuntime(config, env=PASSPHRASE))
    first = int(accelerated()) // INTERVAL
    for runtime in runtimes:
        runtime.start()
    try:
        deadline = time.time() + 120
        while time.time() < deadline and community_settled(community, first) < 4:
            time.sleep(0.5)
    finally:
        for runtime in runtimes:
            runtime.stop()

    contract = community.contracts["Community"]
    settled = [e.args.interval for e in contract.events.IntervalSettled().get_logs(from_block=0)]
    readings = contract.events.ReadingSubmitted().get_logs(from_block=0)
    assert len(settled) >= 4
    assert max(Counter(settled).values()) == 1
    assert max(Counter((r.args.interval, r.args.memberId) for r in readings).values()) == 1
    assert all(interval in settled for interval in range(first, first + 4))

    allocated = [e.args.allocatedWh for e in contract.events.MemberSettled().get_logs(from_block=0)]
    assert sum(allocated) > 0
    expected = reference_balances(contract, readings, settled, households)
    actual = {member_id: contract.functions.memberLedger(member_id).call()[0] for member_id in expected}
    assert actual == expected
    assert [part.status.restarts for runtime in runtimes for part in runtime.parts] == [0] * 9


def community_settled(community, first) -> int:
    contract = community.contracts["Community"]
    return sum(contract.functions.isSettled(first + k).call() for k in range(6))


def reference_balances(contract, readings, settled, households):
    """Replay every settled interval through node.settlement, from the prepaid balances."""
    balances = {member_id: PREPAID for member_id in range(1, len(households) + 1)}
    roles = {member_id: (producer, consumer) for member_id, (_, _, producer, consumer) in enumerate(households, start=1)}
    by_interval: dict[int, list] = {}
    for r in readings:
        by_interval.setdefault(r.args.interval, []).append(r.args)
    for interval in sorted(settled):
        members = [
            MemberInterval(a.memberId, a.importWh, a.exportWh, *roles[a.memberId], balance=balances[a.memberId])
            for a in by_interval.get(interval, [])
        ]
        outcome = settle_interval(AllocationKey.PRORATA, PRICE_PER_KWH, members)
        for member in outcome.members:
            balances[member.member_id] += member.token_delta
    return balances
