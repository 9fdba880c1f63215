"""Three households, each a gridcommons node with its own geth 1.13.15 Clique validator, in real time.

The network settles like the anvil community does; blocks are sealed in turn; a fourth household
joins and is voted in and out by the validators themselves; a killed geth comes back without loss.
"""

from __future__ import annotations

import os
import signal
import time
from collections import Counter

import requests

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


def test_a_household_joining_with_the_bundle_syncs_is_voted_in_seals_and_is_voted_out_after_removal(network):
    newcomer = network.by_name("jansen")
    network.join(newcomer, sponsor=network.by_name("smit"))
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


def test_a_peer_exchange_and_a_consent_work_across_two_nodes(network):
    from eth_account import Account

    from dapp.consents import policy_hash
    from dapp.data_request import SCOPE_ENERGY_15MIN, DataRequest, Domain, sign
    from node.actions.queue import ActionQueue

    producer, consumer = network.by_name("de-vries"), network.by_name("bakker")
    contracts = network.community.contracts
    exchange, token = contracts["EnergyExchange"], contracts["EnergyToken"]
    network.community.send(token.functions.issue(consumer.address, 10**18, b"\x00" * 32))

    def request(household, kind, params) -> int:
        queue = ActionQueue(household.runtime.config.actions_path, time.time)
        try:
            return queue.request(kind, params, kind)
        finally:
            queue.close()

    def action_state(household, action_id) -> str:
        queue = ActionQueue(household.runtime.config.actions_path, time.time)
        try:
            return queue.get(action_id).state
        finally:
            queue.close()

    # The producer's node posts an offer for one interval; the consumer's node accepts it.
    window = now_interval() + 2
    wh, price = 500, 10**17
    posted = request(producer, "post_offer", {"wh": wh, "price_per_kwh": price, "first_interval": window,
                                              "last_interval": window})
    assert wait_until(lambda: action_state(producer, posted) == "confirmed", timeout=60)
    offer_id = exchange.functions.offerCount().call()
    cost = wh * price // 1000
    consumer_before = token.functions.balanceOf(consumer.address).call()
    accepted = request(consumer, "accept_offer", {"offer_id": offer_id, "cost": cost})
    assert wait_until(lambda: action_state(consumer, accepted) == "confirmed", timeout=60)
    assert exchange.functions.offer(offer_id).call()[1] == consumer.address
    # Delivery is metered from both nodes' readings; what was not delivered comes back.
    assert wait_until(lambda: exchange.functions.offer(offer_id).call()[8] in (2, 3), timeout=4 * INTERVAL + 60)
    offer = exchange.functions.offer(offer_id).call()
    refunded = token.functions.balanceOf(consumer.address).call() - (consumer_before - cost)
    assert (offer[10] + refunded, offer[3] <= wh) == (cost, True)  # paid for what was delivered, the rest refunded

    # The consumer grants the producer its 15-minute energy; the producer's signed request is then served.
    start = int(time.time()) - 600
    domain = Domain.from_deployment(consumer.directory / "deployment.json")
    url = f"http://127.0.0.1:{consumer.dapp_port}/api/v1/readings"

    def ask() -> int:
        asked = DataRequest(consumer.address, producer.address, SCOPE_ENERGY_15MIN, start, int(time.time()),
                            "0x" + os.urandom(32).hex(), int(time.time()) + 120)
        signature = sign(asked, domain, Account.from_key(producer.account.key))
        return requests.post(url, json={"request": asked.message(), "signature": signature}, timeout=10).status_code

    assert ask() == 403
    granted = request(consumer, "grant_consent", {
        "recipient": producer.address, "scope": SCOPE_ENERGY_15MIN, "purpose": 2,
        "policy_hash": policy_hash(2, SCOPE_ENERGY_15MIN), "valid_from": start, "valid_until": start + 86400,
    })
    assert wait_until(lambda: action_state(consumer, granted) == "confirmed", timeout=60)
    assert wait_until(lambda: ask() == 200, timeout=30)
