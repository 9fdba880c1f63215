"""The DAISEE loop on anvil with two nodes and MockFactory pins: a battery runs low, the node
accepts a neighbour's offer, both relays switch, delivery is metered, tokens are released, the
relays switch back. And a deal that cannot be delivered in full expires with a refund."""

from __future__ import annotations

import pytest
from node.chain.devnet import INTERVAL, dev_account
from gpiozero.pins.mock import MockFactory
from nodekit import ENV, KeptTime, wait_until, write_node

from node.runtime.node import NodeRuntime

PRICE = 2 * 10**17  # 0.2 credit per kWh
PRODUCER_PIN, CONSUMER_PIN = 5, 6
CONSUMER_EXTRA = f"""
[battery]
source = "simulator"
soc_pct = 12

[exchange]
auto_accept = true
battery_below_pct = 20
max_wh = 100000
max_price_per_kwh = {PRICE}

[relays.peer]
pin = {CONSUMER_PIN}
rule = "exchange"
role = "consumer"
min_on_s = 0
min_off_s = 0
"""
PRODUCER_EXTRA = f"""
[relays.supply]
pin = {PRODUCER_PIN}
rule = "exchange"
role = "producer"
min_on_s = 0
min_off_s = 0
"""


class PinWatch:
    """Records every state a mock pin takes, as the test polls it."""

    def __init__(self, factory: MockFactory, pin: int):
        self.pin = factory.pin(pin)
        self.states = [self.pin.state]

    def poll(self) -> None:
        if self.pin.state != self.states[-1]:
            self.states.append(self.pin.state)


@pytest.fixture
def two_nodes(w3, community, clock, anvil, tmp_path):
    kept = KeptTime(w3, clock.now, factor=90.0)
    producer, consumer = dev_account(1), dev_account(2)
    community.admit(producer.address, True, False)
    community.admit(consumer.address, False, True)
    token = community.contracts["EnergyToken"]
    community.send(token.functions.issue(consumer.address, 10 * 10**18, b"\x00" * 32))
    pins = {"producer": MockFactory(), "consumer": MockFactory()}
    configs = {
        "producer": write_node(tmp_path / "producer", "producer", 1, "producer", community.deployment, anvil.url,
                               kept.clock, 1, extra=PRODUCER_EXTRA),
        "consumer": write_node(tmp_path / "consumer", "consumer", 2, "consumer", community.deployment, anvil.url,
                               kept.clock, 2, extra=CONSUMER_EXTRA),
    }
    runtimes = {name: NodeRuntime(configs[name], env=ENV, pin_factory=pins[name], backoff=(0.5, 1.0)) for name in configs}
    for runtime in runtimes.values():
        runtime.start()
    yield kept, producer, consumer, pins, runtimes
    for runtime in runtimes.values():
        runtime.stop()
    kept.stop()


def post_offer(w3, exchange, producer, wh, first, last) -> int:
    call = exchange.functions.postOffer(wh, PRICE, first, last)
    tx = call.build_transaction({"from": producer.address, "nonce": w3.eth.get_transaction_count(producer.address, "pending"),
                                 "gas": 300_000, "gasPrice": w3.eth.gas_price})
    receipt = w3.eth.wait_for_transaction_receipt(w3.eth.send_raw_transaction(producer.sign_transaction(tx).raw_transaction))
    return exchange.events.OfferPosted().process_receipt(receipt)[0].args.offerId


def test_low_battery_buys_from_a_neighbour_and_both_relays_follow_the_deal(w3, community, two_nodes):
    kept, producer, consumer, pins, _ = two_nodes
    exchange, token = community.contracts["EnergyExchange"], community.contracts["EnergyToken"]
    current = int(kept.clock()) // INTERVAL
    wh = 150
    offer_id = post_offer(w3, exchange, producer, wh, current + 2, current + 4)
    watches = [PinWatch(pins["producer"], PRODUCER_PIN), PinWatch(pins["consumer"], CONSUMER_PIN)]
    producer_tokens = token.functions.balanceOf(producer.address).call()

    def done() -> bool:
        for watch in watches:
            watch.poll()
        return exchange.functions.offer(offer_id).call()[8] in (2, 3) and all(w.states[-1] == 0 for w in watches)

    assert wait_until(done, timeout=90, every=0.05)

    offer = exchange.functions.offer(offer_id).call()
    assert (offer[1], offer[8]) == (consumer.address, 2)  # accepted by the consumer's node; COMPLETED
    assert [w.states for w in watches] == [[0, 1, 0], [0, 1, 0]]
    deliveries = exchange.events.DeliveryRecorded().get_logs(from_block=0, argument_filters={"offerId": offer_id})
    assert sum(d.args.wh for d in deliveries) == wh
    assert token.functions.balanceOf(producer.address).call() - producer_tokens == wh * PRICE // 1000


def test_a_deal_not_delivered_in_full_expires_and_refunds_the_rest(w3, community, two_nodes):
    kept, producer, consumer, pins, _ = two_nodes
    exchange, token = community.contracts["EnergyExchange"], community.contracts["EnergyToken"]
    current = int(kept.clock()) // INTERVAL
    wh = 50_000  # far more than one interval's export
    offer_id = post_offer(w3, exchange, producer, wh, current + 2, current + 2)
    consumer_tokens = token.functions.balanceOf(consumer.address).call()
    watch = PinWatch(pins["consumer"], CONSUMER_PIN)

    def expired_and_switched_back() -> bool:
        watch.poll()
        return exchange.functions.offer(offer_id).call()[8] == 3 and watch.states[-1] == 0 and len(watch.states) > 1

    # The relay follows the mirror, a moment after the deal expires on chain.
    assert wait_until(expired_and_switched_back, timeout=90, every=0.05)

    offer = exchange.functions.offer(offer_id).call()
    cost = wh * PRICE // 1000
    refunded = exchange.events.ExchangeExpired().get_logs(from_block=0, argument_filters={"offerId": offer_id})[0].args.refunded
    assert 0 < offer[3] < wh  # something, not everything, was delivered
    assert refunded == cost - offer[10]
    assert token.functions.balanceOf(consumer.address).call() == consumer_tokens - offer[10]
    assert watch.states[:3] == [0, 1, 0]
