"""The exchange agent trading by its rules on the project's anvil, with an injected clock, forecast and
event mirror: a producer posts one set of offers a day and never again after a restart; a household
accepts offers for its forecast shortage, never its own and never beyond the shortage; the rules in
force are read on every tick."""

from __future__ import annotations

import logging
from datetime import timezone

import pytest

from node.chain.community import CommunityView
from node.chain.contracts import CommunityContracts, load_abis
from node.chain.devnet import INTERVAL, MANIFEST, dev_account
from node.chain.sender import TransactionSender
from node.config import ExchangeConfig
from node.exchange.agent import ExchangeAgent
from node.forecast.model import PROFILE, EnergyForecast, Forecast, HourForecast
from node.mirror.db import MirrorDB
from node.mirror.mirror import EventMirror

H = 3600
CREDIT = 10**18
OFFERING = ExchangeConfig(auto_offer=True, offer_day="today", offer_hours=2, offer_max_wh=1000,
                          offer_price_per_kwh=CREDIT // 10)
BUYING = ExchangeConfig(auto_accept=True, cover_shortage=True, max_wh=5000, max_price_per_kwh=CREDIT // 5)


def forecast_of(production: dict[int, float], consumption: dict[int, float]):
    """A forecaster answering with these expected Wh per hour start (0 elsewhere)."""

    def made(origin: int, hours: int) -> EnergyForecast:
        starts = [origin + i * H for i in range(hours)]

        def series(values):
            return Forecast(origin, PROFILE, 28.0, tuple(HourForecast(s, values.get(s, 0.0)) for s in starts), "")

        return EnergyForecast(consumption=series(consumption), production=series(production))

    return made


class Household:
    """One node's exchange agent and event mirror, as the node's chain part wires them."""

    def __init__(self, w3, community, clock, directory, index: int, producer: bool, consumer: bool, rules, forecast):
        self.account = dev_account(index)
        community.admit(self.account.address, producer, consumer)
        self.contracts = CommunityContracts(w3, community.deployment, load_abis(MANIFEST))
        self.db = MirrorDB(directory / f"mirror-{index}.sqlite")
        self.events = EventMirror(w3, self.contracts, self.db)
        self.rules = rules
        self.clock, self.forecast = clock, forecast
        self.agent = self.start()

    def start(self) -> ExchangeAgent:
        """A new agent over the same mirror, as after a restart of the node."""
        c = self.contracts
        return ExchangeAgent(c["EnergyExchange"], c["EnergyToken"], CommunityView(c["Community"]),
                             TransactionSender(c.w3, self.account, c), self.db, self.clock, lambda: self.rules,
                             forecast=self.forecast, zone=timezone.utc)

    def tick(self, mirror_first: bool = True) -> None:
        if mirror_first:
            self.events.poll()
        self.agent.tick()


def post_offer(w3, exchange, producer, wh, price, first, last) -> int:
    call = exchange.functions.postOffer(wh, price, first, last)
    tx = call.build_transaction({"from": producer.address, "nonce": w3.eth.get_transaction_count(producer.address, "pending"),
                                 "gas": 300_000, "gasPrice": w3.eth.gas_price})
    receipt = w3.eth.wait_for_transaction_receipt(w3.eth.send_raw_transaction(producer.sign_transaction(tx).raw_transaction))
    return exchange.events.OfferPosted().process_receipt(receipt)[0].args.offerId


def posted(community, producer: str) -> list[tuple]:
    logs = community.contracts["EnergyExchange"].events.OfferPosted().get_logs(
        from_block=0, argument_filters={"producer": producer})
    return [(log.args.wh, log.args.pricePerKWh, log.args.firstInterval, log.args.lastInterval) for log in logs]


def accepted_by(community, consumer: str) -> list[int]:
    logs = community.contracts["EnergyExchange"].events.OfferAccepted().get_logs(
        from_block=0, argument_filters={"consumer": consumer})
    return sorted(log.args.offerId for log in logs)


@pytest.fixture
def noon(clock) -> int:
    """12:00 UTC on the test's day (the clock stands at 11:00)."""
    return int(clock.now) + H


def test_a_producer_offers_its_best_hours_once_a_day_even_with_its_mirror_behind_or_after_a_restart(
        w3, community, clock, tmp_path, noon):
    surplus = forecast_of({noon: 800, noon + H: 1200, noon + 2 * H: 600}, {noon: 100, noon + H: 100, noon + 2 * H: 100})
    producer = Household(w3, community, clock, tmp_path, 1, True, False, ExchangeConfig(), surplus)

    producer.tick()  # the rule is off
    assert posted(community, producer.account.address) == []

    producer.rules = OFFERING  # as if saved in the DApp: read on the next tick
    producer.tick()
    producer.tick(mirror_first=False)  # the offers are not mirrored yet: no second set
    producer.tick()
    producer.agent = producer.start()
    producer.tick()

    first = noon // INTERVAL
    assert posted(community, producer.account.address) == [
        (388, CREDIT // 10, first, first + 3),  # 700 of the two best hours' 1800 Wh, of 1000
        (611, CREDIT // 10, first + 4, first + 7),
    ]


def test_a_household_that_is_no_producer_member_offers_nothing_and_says_why(w3, community, clock, tmp_path, noon,
                                                                              caplog):
    consumer = Household(w3, community, clock, tmp_path, 2, False, True, OFFERING, forecast_of({noon: 900}, {}))

    with caplog.at_level(logging.WARNING, logger="node.exchange.agent"):
        consumer.tick()
        consumer.tick()

    assert posted(community, consumer.account.address) == []
    assert [r.getMessage() for r in caplog.records] == [
        f"exchange.auto_offer is on, but {consumer.account.address} is not a producer member: only producers offer"]


def test_a_household_buys_for_its_forecast_shortage_cheapest_first_never_its_own_offer_nor_beyond_the_shortage(
        w3, community, clock, tmp_path, noon):
    exchange, token = community.contracts["EnergyExchange"], community.contracts["EnergyToken"]
    shortage = forecast_of({noon: 100}, {noon: 600, noon + H: 400})  # short by 500 Wh at noon, 400 Wh at one
    buyer = Household(w3, community, clock, tmp_path, 2, True, True, BUYING, shortage)
    seller = dev_account(1)
    community.admit(seller.address, True, False)
    community.send(token.functions.issue(buyer.account.address, 10 * CREDIT, b"\x00" * 32))
    noon_window, one_window = (noon // INTERVAL, noon // INTERVAL + 3), (noon // INTERVAL + 4, noon // INTERVAL + 7)
    cheapest = post_offer(w3, exchange, seller, 300, CREDIT // 20, *noon_window)
    too_much = post_offer(w3, exchange, seller, 300, CREDIT * 6 // 100, *noon_window)  # 200 Wh of shortage left
    own = post_offer(w3, exchange, buyer.account, 100, 1, *one_window)
    too_dear = post_offer(w3, exchange, seller, 200, CREDIT * 3 // 10, *one_window)
    fits = post_offer(w3, exchange, seller, 150, CREDIT * 7 // 100, *noon_window)
    at_one = post_offer(w3, exchange, seller, 400, CREDIT // 10, *one_window)
    wallet = token.functions.balanceOf(buyer.account.address).call()

    buyer.tick()
    buyer.tick()  # the deals are mirrored now: nothing more to buy

    assert accepted_by(community, buyer.account.address) == [cheapest, fits, at_one]
    assert {too_much, own, too_dear} & set(accepted_by(community, buyer.account.address)) == set()
    spent = 300 * CREDIT // 20 // 1000 + 150 * CREDIT * 7 // 100 // 1000 + 400 * CREDIT // 10 // 1000
    assert token.functions.balanceOf(buyer.account.address).call() == wallet - spent


def test_a_settling_neighbour_meters_a_deal_its_parties_left_unmetered_before_it_settles(w3, community, clock, tmp_path):
    from node.chain.devnet import GRACE
    from node.submit.settler import Settler

    settling = Household(w3, community, clock, tmp_path, 3, False, True, ExchangeConfig(), forecast_of({}, {}))
    seller, buyer = dev_account(1), dev_account(2)
    community.admit(seller.address, True, False)
    community.admit(buyer.address, False, True)
    contracts = settling.contracts
    exchange, token, hub = contracts["EnergyExchange"], contracts["EnergyToken"], contracts["Community"]
    community.send(token.functions.issue(buyer.address, 10 * CREDIT, b"\x00" * 32))
    window = int(clock()) // INTERVAL + 1
    offer = post_offer(w3, exchange, seller, 500, CREDIT // 10, window, window)
    as_buyer = TransactionSender(w3, buyer, contracts)
    as_buyer.transact(token.functions.approve(exchange.address, CREDIT), "approve")
    as_buyer.transact(exchange.functions.accept(offer), "accept")
    clock.set((window + 1) * INTERVAL)
    TransactionSender(w3, seller, contracts).transact(hub.functions.submitReading(window, 0, 800), "reading")
    as_buyer.transact(hub.functions.submitReading(window, 600, 0), "reading")
    settling.events.poll()  # the neighbour's mirror knows the deal; neither party metered it
    settler = Settler(CommunityView(hub), TransactionSender(w3, settling.account, contracts), clock, patience=0,
                      before_settling=settling.agent.meter_before_settlement)
    clock.set((window + 1) * INTERVAL + GRACE)

    settled = settler.settle_if_due(window)

    assert settled is True
    assert exchange.functions.offer(offer).call()[3] == 500  # deliveredWh: metered before the settlement
    buyer_id = hub.functions.memberIdOf(buyer.address).call()
    allocations = hub.events.MemberSettled().get_logs(from_block=0, argument_filters={"memberId": buyer_id})
    assert [log.args.allocatedWh for log in allocations] == [100]  # the key shared only what the deal left
