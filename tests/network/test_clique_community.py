"""Three households, each a gridcommons node with its own geth 1.13.15 Clique validator, in real time.

The network settles like the anvil community does; blocks are sealed in turn; a fourth household
joins and is voted in and out by the validators themselves; a killed geth comes back without loss.
"""

from __future__ import annotations

import os
import signal
import time
from collections import Counter

from nodekit import chain_record, reference_balances, wait_until
from netkit import INTERVAL, signer_of, signers

from node.submit.outbox import MISSED, Outbox

ROLES_OF = {"de-vries": (True, False), "bakker": (False, True), "smit": (True, True), "jansen": (True, True)}


def settled_since(contract, interval: int, count: int) -> bool:
    return all(contract.functions.isSettled(interval + k).call() for k in range(count))


def now_interval() -> int:
    return int(time.time()) // INTERVAL


def assert_once_and_as_the_reference(network):
    contract = network.community.contracts["Community"]
    settled, readings = chain_record(contract)
    assert max(Counter(settled).values()) == 1
    assert max(Counter((r.args.interval, r.args.memberId) for r in readings).values()) == 1
    roles = {}
    for member_id in range(1, contract.functions.memberCount().call() + 1):
        account = contract.functions.memberProfile(member_id).call()[0]
        roles[member_id] = ROLES_OF[next(h.name for h in network.households if h.address == account)]
    actual = {member_id: contract.functions.memberLedger(member_id).call()[0] for member_id in roles}
    assert actual == reference_balances(readings, settled, roles)
    return settled


def test_blocks_are_sealed_by_all_three_signers_in_turn(network):
    w3 = network.w3()
    founders = {h.address.lower() for h in network.households[:3]}
    wait_until(lambda: w3.eth.block_number >= 20, timeout=60)
    head = w3.eth.block_number
    sealers = [signer_of(w3, block) for block in range(head - 11, head + 1)]
    assert set(sealers) == founders
    # Clique: no signer seals twice within floor(3/2)+1 = 2 consecutive blocks.
    assert all(a != b for a, b in zip(sealers, sealers[1:]))
    assert [network.w3(h).net.peer_count for h in network.households[:3]] == [2, 2, 2]


def test_every_interval_settles_once_with_balances_equal_to_the_python_reference(network):
    contract = network.community.contracts["Community"]
    first = now_interval() + 1  # the first interval every founder meters from its start
    assert wait_until(lambda: settled_since(contract, first, 2), timeout=4 * INTERVAL + 60)
    settled = assert_once_and_as_the_reference(network)
    assert {first, first + 1} <= set(settled)
    founders = network.households[:3]
    assert [Outbox(h.runtime.config.outbox_path).count(MISSED) for h in founders] == [0, 0, 0]


def test_a_fourth_household_syncs_is_voted_in_seals_and_is_voted_out_after_removal(network):
    newcomer = network.by_name("jansen")
    network.hand_deployment(newcomer)
    network.start(newcomer)
    w3 = network.w3(newcomer)
    head = network.w3().eth.block_number
    assert wait_until(lambda: w3.eth.block_number >= head, timeout=60)  # synced from genesis
    assert newcomer.address.lower() not in signers(w3)

    network.admit(newcomer)
    assert wait_until(lambda: newcomer.address.lower() in signers(network.w3()), timeout=60)
    voted_in = network.w3().eth.block_number
    assert wait_until(lambda: network.w3().eth.block_number >= voted_in + 12, timeout=60)
    sealers = {signer_of(w3, b) for b in range(voted_in + 1, voted_in + 13)}
    assert newcomer.address.lower() in sealers

    network.community.send(network.community.contracts["Community"].functions.removeMember(newcomer.address))
    assert wait_until(lambda: newcomer.address.lower() not in signers(network.w3()), timeout=90)
    assert len(signers(network.w3())) == 3
    # Once out, each validator withdraws its own vote: nothing stays pending.
    for household in network.households[:3]:
        assert wait_until(lambda h=household: network.w3(h).provider.make_request("clique_proposals", [])["result"] == {},
                          timeout=30)
    newcomer.runtime.stop()
    newcomer.runtime = None


def test_a_killed_geth_restarts_catches_up_and_no_reading_is_lost_or_doubled(network):
    victim = network.by_name("bakker")
    killed_in = now_interval()
    geth = victim.runtime.geth
    pid = geth.pid
    os.kill(pid, signal.SIGKILL)
    w3 = network.w3()
    before = w3.eth.block_number
    assert wait_until(lambda: w3.eth.block_number >= before + 5, timeout=30)  # two signers go on sealing
    assert wait_until(lambda: geth.running and geth.pid != pid, timeout=30)
    assert wait_until(lambda: network.w3(victim).eth.block_number >= w3.eth.block_number - 1, timeout=60)

    contract = network.community.contracts["Community"]
    after = now_interval() + 1
    assert wait_until(lambda: settled_since(contract, after, 1), timeout=3 * INTERVAL + 60)
    settled, readings = chain_record(contract)
    bakker = contract.functions.memberIdOf(victim.address).call()
    assert {r.args.interval for r in readings if r.args.memberId == bakker} >= set(range(killed_in, after + 1))
    assert_once_and_as_the_reference(network)
