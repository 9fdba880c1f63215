"""Three nodes with simulated meters run accelerated intervals against the project's anvil:
every interval is settled once and balances equal the Python reference allocation."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from pathlib import Path

from node.chain.devnet import INTERVAL, dev_account
from nodekit import ENV, KeptTime, chain_record, reference_balances, wait_until, write_node

from node.runtime.node import NodeRuntime
from node.submit.outbox import MISSED, Outbox

GRIDCOMMONS = str(Path(sys.executable).with_name("gridcommons"))
HOUSEHOLDS = [("producer", 1, True, False), ("consumer", 2, False, True), ("prosumer", 3, True, True)]


def test_three_nodes_settle_every_interval_once_matching_the_reference(w3, community, clock, anvil, tmp_path):
    time = KeptTime(w3, clock.now, factor=90.0)  # a 15-minute interval in 10 s
    runtimes = []
    for seed, (profile, index, producer, consumer) in enumerate(HOUSEHOLDS, start=1):
        community.admit(dev_account(index).address, producer, consumer)
        config = write_node(tmp_path / profile, profile, index, profile, community.deployment, anvil.url, time.clock, seed)
        runtimes.append(NodeRuntime(config, env=ENV))
    contract = community.contracts["Community"]
    first = int(time.clock()) // INTERVAL
    for runtime in runtimes:
        runtime.start()
    try:
        wait_until(lambda: all(contract.functions.isSettled(first + k).call() for k in range(4)), timeout=120)
    finally:
        for runtime in runtimes:
            runtime.stop()
        time.stop()

    settled, readings = chain_record(contract)
    assert set(range(first, first + 4)) <= set(settled)
    assert max(Counter(settled).values()) == 1
    assert max(Counter((r.args.interval, r.args.memberId) for r in readings).values()) == 1
    assert sum(e.args.allocatedWh for e in contract.events.MemberSettled().get_logs(from_block=0)) > 0
    roles = {member_id: (producer, consumer) for member_id, (_, _, producer, consumer) in enumerate(HOUSEHOLDS, 1)}
    expected = reference_balances(readings, settled, roles)
    actual = {member_id: contract.functions.memberLedger(member_id).call()[0] for member_id in roles}
    assert actual == expected
    assert [part.status.restarts for runtime in runtimes for part in runtime.parts] == [0] * sum(len(r.parts) for r in runtimes)
    assert [Outbox(r.config.outbox_path).count(MISSED) for r in runtimes] == [0, 0, 0]


def test_a_low_battery_switches_the_relay_to_the_community_source_and_journals_why(w3, community, clock, anvil, tmp_path):
    from gpiozero.pins.mock import MockFactory

    from node.relay import RelayJournal

    time = KeptTime(w3, clock.now, factor=90.0)
    community.admit(dev_account(4).address, False, True)
    config = write_node(
        tmp_path / "home", "home", 4, "consumer", community.deployment, anvil.url, time.clock, 7,
        extra="""
[battery]
source = "simulator"
soc_pct = 15

[relays.battery]
pin = 17
rule = "battery"
low_pct = 20
high_pct = 80
""",
    )
    pins = MockFactory()
    runtime = NodeRuntime(config, env=ENV, pin_factory=pins)
    runtime.start()
    try:
        switched = wait_until(lambda: pins.pin(17).state == 1, timeout=30)
    finally:
        runtime.stop()
        time.stop()

    assert switched
    assert pins.pin(17).state == 0  # fail-safe (off) once the node stopped
    with RelayJournal(config.relay_journal_path) as journal:
        switches = journal.recent("battery", switches_only=True)
    assert [event.on for event in reversed(switches)][-2:] == [True, False]
    assert "below 20%" in [event for event in switches if event.on][0].reason

    status = subprocess.run([GRIDCOMMONS, "node", "status", "--config", str(config.data_dir.parent / "node.toml")],
                            capture_output=True, text=True, timeout=60)
    lines = status.stdout.splitlines()
    assert lines[0] == "node home: not running (status file is stale)" or lines[0] == "node home: running"
    assert any(line.startswith("  chain        head ") for line in lines)
    assert any(line.startswith("  relay battery off since ") for line in lines)
    assert any(line.startswith("  last reading ") and " W" in line for line in lines)
