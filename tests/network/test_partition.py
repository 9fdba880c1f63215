"""A partition isolates one validator on a test host of its own (a network namespace): the minority
stops sealing, the majority goes on; once healed the minority follows the majority's chain, its
event mirror rescans, and no reading is lost or doubled."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import Counter

import pytest
from nodekit import chain_record, reference_balances, wait_until
from netkit import INTERVAL, make_network
from partition import GUEST_ADDRESS, HOST_ADDRESS, TestHost

from node.mirror.db import MirrorDB
from node.submit.outbox import MISSED, Outbox

HOUSEHOLDS = [("de-vries", "producer", True, False), ("bakker", "consumer", False, True), ("smit", "prosumer", True, True)]
ROLES = {1: (True, False), 2: (False, True), 3: (True, True)}
PARTITION_SECONDS = 75  # longer than an interval: the isolated node's reading for it waits


def rpc_on(host: TestHost, url: str, method: str, params: list) -> object:
    """Ask a chain client that answers only inside the test host's namespace."""
    script = (
        "import json, sys, urllib.request;"
        "body = json.dumps({'jsonrpc': '2.0', 'id': 1, 'method': sys.argv[2], 'params': json.loads(sys.argv[3])}).encode();"
        "request = urllib.request.Request(sys.argv[1], body, {'Content-Type': 'application/json'});"
        "print(json.dumps(json.load(urllib.request.urlopen(request, timeout=5)).get('result')))"
    )
    done = subprocess.run([*host.prefix(), sys.executable, "-c", script, url, method, json.dumps(params)],
                          capture_output=True, text=True, timeout=30)
    return json.loads(done.stdout) if done.returncode == 0 else None


@pytest.fixture(scope="module")
def split(tmp_path_factory):
    if os.geteuid() != 0:
        pytest.skip("a test host needs network namespaces, which need root (as CI and the sessions have)")
    with TestHost("gc-partition") as host:
        hosts = {"de-vries": HOST_ADDRESS, "bakker": HOST_ADDRESS, "smit": GUEST_ADDRESS}
        # The majority waits for the isolated member's readings instead of settling without them.
        net = make_network(tmp_path_factory.mktemp("split"), HOUSEHOLDS, validators=3, hosts=hosts,
                           settle_patience=900)
        try:
            net.start(net.by_name("de-vries"))
            net.start(net.by_name("bakker"))
            net.spawn(net.by_name("smit"), host.prefix())
            net.deploy(net.households)
            yield net, host
        finally:
            net.stop()


def test_an_isolated_validator_stops_sealing_and_follows_the_majority_after_healing(split):
    net, host = split
    majority, isolated = net.w3(), net.by_name("smit")
    contract = net.community.contracts["Community"]
    first = int(time.time()) // INTERVAL + 1
    assert wait_until(lambda: contract.functions.isSettled(first).call(), timeout=3 * INTERVAL + 60)
    assert wait_until(lambda: net.w3().net.peer_count == 2, timeout=30)

    def isolated_head() -> int:
        return int(rpc_on(host, isolated.rpc, "eth_blockNumber", []), 16)

    host.unplug()
    cut_at, majority_before, isolated_before = time.time(), majority.eth.block_number, isolated_head()
    time.sleep(PARTITION_SECONDS)
    isolated_during, majority_during = isolated_head(), majority.eth.block_number
    # Clique lets one signer of three seal at most one block in any two: alone, it soon stops.
    assert isolated_during - isolated_before <= 1
    assert majority_during - majority_before >= PARTITION_SECONDS // 2
    held_back = int(cut_at) // INTERVAL  # the interval the isolated node could not report while cut off
    assert not contract.functions.isSettled(held_back + 1).call()

    host.plug()

    def follows_majority() -> bool:
        block = rpc_on(host, isolated.rpc, "eth_getBlockByNumber", [hex(majority_during), False])
        return block is not None and block["hash"] == majority.eth.get_block(majority_during)["hash"].to_0x_hex()

    assert wait_until(follows_majority, timeout=90)
    last = held_back + 2
    assert wait_until(lambda: contract.functions.isSettled(last).call(), timeout=4 * INTERVAL + 120)

    settled, readings = chain_record(contract)
    assert max(Counter(settled).values()) == 1
    per_member = Counter((r.args.interval, r.args.memberId) for r in readings)
    assert max(per_member.values()) == 1
    assert {(i, 3) for i in range(first, last + 1)} <= set(per_member)  # nothing of the isolated node lost
    actual = {m: contract.functions.memberLedger(m).call()[0] for m in ROLES}
    assert actual == reference_balances(readings, settled, ROLES)
    assert [Outbox(h.directory / "data" / "outbox.sqlite").count(MISSED) for h in net.households] == [0, 0, 0]

    def mirrored_as_on_chain() -> bool:
        mirror = MirrorDB(isolated.directory / "data" / "mirror.sqlite")
        try:
            mirrored = Counter((e.args["interval"], e.args["memberId"]) for e in mirror.events("ReadingSubmitted"))
        finally:
            mirror.close()
        on_chain = Counter((r.args.interval, r.args.memberId) for r in contract.events.ReadingSubmitted().get_logs(from_block=0))
        return mirrored == on_chain

    assert wait_until(mirrored_as_on_chain, timeout=60)
