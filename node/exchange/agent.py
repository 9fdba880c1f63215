"""The node's side of peer exchanges: meter delivery after each reading, close finished deals, and trade
by the household's rules (node.exchange.rules): offer the forecast surplus of the best hours, and
accept neighbours' offers when the battery runs low (the DAISEE loop) or for a forecast shortage."""

from __future__ import annotations

import logging
import sqlite3
from dataclasses import replace
from datetime import timezone, tzinfo
from typing import Callable

from web3.contract import Contract

from node.chain.community import CommunityView
from node.chain.sender import Sent, TransactionFailed, TransactionPending, TransactionSender
from node.config import ExchangeConfig
from node.errors import NodeError
from node.exchange import rules as rule
from node.exchange.deals import ACCEPTED, OPEN, Deal, deals
from node.forecast.hours import HOUR, hour_start
from node.forecast.model import EnergyForecast
from node.forecast.surplus import expected_surplus
from node.mirror.db import MirrorDB

log = logging.getLogger(__name__)

# Someone else got there first: the deal's state already is what we wanted.
_ALREADY = {"ExchangeIntervalAlreadyMetered", "ExchangeFinished", "ExchangeOfferNotOpen", "ExchangeNotAccepted"}

_ANY_BALANCE = 2**256

Forecaster = Callable[[int, int], EnergyForecast | None]  # (origin, hours) -> this household's forecast


class ExchangeAgent:
    """Runs in the node's chain-writing part, with its one sender.

    `rules` gives the trading rules in force (read every tick: the DApp may change them);
    `forecast` this household's forecast for (origin, hours); `zone` the household's local days.
    """

    def __init__(
        self,
        exchange: Contract,
        token: Contract,
        community: CommunityView,
        sender: TransactionSender,
        mirror: MirrorDB,
        clock: Callable[[], float],
        rules: Callable[[], ExchangeConfig],
        battery_soc: Callable[[], float | None] = lambda: None,
        forecast: Forecaster = lambda origin, hours: None,
        zone: tzinfo = timezone.utc,
    ):
        self.exchange = exchange
        self.token = token
        self.community = community
        self.sender = sender
        self.mirror = mirror
        self.clock = clock
        self.rules = rules
        self.battery_soc = battery_soc
        self.forecast = forecast
        self.zone = zone
        self.account = sender.address
        self._mirrored_from: int | None = None  # the rules decide once the mirror holds this block
        self._forecast: tuple[tuple, EnergyForecast | None] | None = None
        self._not_producer_told = False
        self._in_flight = False  # a transaction of ours was sent but not seen mined
        self._rules: ExchangeConfig | None = None

    def tick(self) -> None:
        now = self.clock()
        current = int(now) // self.community.interval_length
        all_deals = deals(self.mirror)
        mine = [d for d in all_deals.values() if self.account in (d.producer, d.consumer)]
        for deal in mine:
            if deal.state == ACCEPTED and deal.first_interval <= current:
                self.meter(deal.offer_id)
            # The contract closes a deal once its last interval is settled, so that interval's delivery counts.
            if deal.state in (OPEN, ACCEPTED) and current > deal.last_interval and self.community.is_settled(deal.last_interval):
                self._try(self.exchange.functions.close(deal.offer_id), f"closing exchange {deal.offer_id}")
        rules = self.rules()
        if rules != self._rules:
            log.info("trading rules in force: %s", rules)
            self._rules = rules
        if not (rules.auto_offer or rules.auto_accept) or not self._mirror_caught_up():
            return
        if rules.auto_offer:
            self.offer_surplus(rules, now, all_deals)
        if rules.auto_accept:
            self.accept_if_needed(rules, now, all_deals)

    def after_reading(self, interval: int) -> None:
        """A reading of ours reached the chain: meter every deal of ours it may deliver for."""
        self._meter_interval(interval, lambda deal: self.account in (deal.producer, deal.consumer))

    def meter_before_settlement(self, interval: int) -> None:
        """Meter every accepted deal, anyone's, that may deliver in `interval`: once it is settled its
        delivery can no longer be metered, and the deal would refund energy that did flow."""
        self._meter_interval(interval, lambda deal: True)

    def _meter_interval(self, interval: int, concerns: Callable[[Deal], bool]) -> None:
        for deal in deals(self.mirror).values():
            if deal.state == ACCEPTED and deal.first_interval <= interval <= deal.last_interval and concerns(deal):
                self.meter(deal.offer_id)

    def meter(self, offer_id: int) -> None:
        _interval, _wh, ready = self.exchange.functions.pendingDelivery(offer_id).call()
        if ready:
            self._try(self.exchange.functions.recordDelivery(offer_id), f"metering exchange {offer_id}")

    # -- the producer rule ----------------------------------------------------------------

    def offer_surplus(self, rules: ExchangeConfig, now: float, known: dict[int, Deal]) -> list[rule.PlannedOffer]:
        """Post the day's offers, unless this account already posted any for that day."""
        length = self.community.interval_length
        day = rule.offer_day(rules, now, self.zone)
        if rule.posted_for_day(known.values(), self.account, day, length):
            return []
        made = self._household_forecast(now)
        if made is None:
            return []
        plan = rule.offers_to_post(rules, expected_surplus(made), day, int(now) // length, length)
        if not plan or not self._is_producer():
            return []
        posted = []
        for offer in plan:
            call = self.exchange.functions.postOffer(offer.wh, offer.price_per_kwh, offer.first_interval,
                                                     offer.last_interval)
            if self._rule_transaction(call, f"offering {offer.wh} Wh for intervals {offer.first_interval}-"
                                            f"{offer.last_interval}"):
                posted.append(offer)
        if posted:
            log.info("offered %d Wh of forecast surplus in %d offers", sum(o.wh for o in posted), len(posted))
        return posted

    def _is_producer(self) -> bool:
        if self.community.contract.functions.isProducer(self.account).call():
            return True
        if not self._not_producer_told:
            log.warning("exchange.auto_offer is on, but %s is not a producer member: only producers offer", self.account)
            self._not_producer_told = True
        return False

    # -- the consumer rules ---------------------------------------------------------------

    def accept_if_needed(self, rules: ExchangeConfig, now: float, known: dict[int, Deal]) -> list[Deal]:
        """Rule 1 (battery low), then rule 2 (forecast shortage); returns the offers accepted."""
        current = int(now) // self.community.interval_length
        view = dict(known)
        offers = rule.open_offers(view.values(), self.account, current, rules.max_price_per_kwh)
        if not offers:
            return []
        accepted = []
        battery = self._battery_deal(rules, offers, view)
        if battery is not None:
            accepted.append(battery)
            view[battery.offer_id] = replace(battery, consumer=self.account, state=ACCEPTED)
            offers = [o for o in offers if o.offer_id != battery.offer_id]
        if rules.cover_shortage and offers:
            accepted += self._shortage_deals(rules, now, current, offers, view)
        return accepted

    def _battery_deal(self, rules: ExchangeConfig, offers: list[Deal], view: dict[int, Deal]) -> Deal | None:
        soc = self.battery_soc()
        for deal in rule.battery_candidates(rules, soc, offers, self._bought(view)):
            price = rule.cost(deal.wh, deal.price_per_kwh)
            if self.token.functions.balanceOf(self.account).call() < price:
                log.warning("battery at %.0f%% but %s has too few tokens for offer %d", soc, self.account, deal.offer_id)
                return None
            if self._accept(deal, price):
                log.info("battery at %.0f%%: accepted offer %d (%d Wh)", soc, deal.offer_id, deal.wh)
                return deal
        return None

    def _shortage_deals(self, rules: ExchangeConfig, now: float, current: int, offers: list[Deal],
                        view: dict[int, Deal]) -> list[Deal]:
        made = self._household_forecast(now)
        if made is None:
            return []
        shortage = rule.shortage_by_interval(expected_surplus(made), self.community.interval_length)
        bought = self._bought(view)
        if not rule.shortage_choices(rules, offers, bought, shortage, current, _ANY_BALANCE):
            return []  # nothing fits the shortage: no need to ask the chain for the wallet
        balance = self.token.functions.balanceOf(self.account).call()
        accepted = []
        for deal in rule.shortage_choices(rules, offers, bought, shortage, current, balance):
            if self._accept(deal, rule.cost(deal.wh, deal.price_per_kwh)):
                log.info("forecast shortage: accepted offer %d (%d Wh in intervals %d-%d)", deal.offer_id, deal.wh,
                         deal.first_interval, deal.last_interval)
                accepted.append(deal)
        return accepted

    def _bought(self, view: dict[int, Deal]) -> list[Deal]:
        return [d for d in view.values() if d.consumer == self.account]

    def _accept(self, deal: Deal, price: int) -> bool:
        if price and self.token.functions.allowance(self.account, self.exchange.address).call() < price:
            self._try(self.token.functions.approve(self.exchange.address, price),
                      f"approving {price} for exchange {deal.offer_id}")
        return self._rule_transaction(self.exchange.functions.accept(deal.offer_id), f"accepting exchange {deal.offer_id}")

    # -- what the rules decide from ---------------------------------------------------------

    def _mirror_caught_up(self) -> bool:
        """The rules read the deals from the mirror, so it must hold every block up to our last rule
        transaction (after a start: the head then), or an offer would be posted or accepted twice."""
        w3 = self.exchange.w3
        if self._in_flight:
            # Our nonces are mined in order: once none is pending, whatever was in flight is in a block.
            if w3.eth.get_transaction_count(self.account, "latest") < w3.eth.get_transaction_count(self.account, "pending"):
                return False
            self._in_flight, self._mirrored_from = False, w3.eth.block_number
        if self._mirrored_from is None:
            self._mirrored_from = w3.eth.block_number
        cursor = self.mirror.cursor
        return cursor is not None and cursor >= self._mirrored_from

    def _rule_transaction(self, call, purpose: str) -> bool:
        sent = self._try(call, purpose)
        if sent is not None:
            self._mirrored_from = max(self._mirrored_from or 0, sent.block_number)
        return sent is not None

    def _household_forecast(self, now: float) -> EnergyForecast | None:
        """The forecast from this hour to the end of tomorrow, made again once per interval (the store
        gains an interval at a time)."""
        origin = hour_start(now, self.zone)
        hours = -(-(rule.local_day(now, self.zone, 1)[1] - origin) // HOUR)
        key = (int(now) // self.community.interval_length, origin, hours)
        if self._forecast is None or self._forecast[0] != key:
            try:
                made = self.forecast(origin, hours)
            except (NodeError, OSError, sqlite3.Error) as error:
                log.warning("no forecast for the trading rules: %s", error)
                made = None
            self._forecast = (key, made)
        return self._forecast[1]

    def _try(self, call, purpose: str) -> Sent | None:
        try:
            return self.sender.transact(call, purpose)
        except TransactionFailed as failure:
            if not (failure.error and failure.error.name in _ALREADY):
                log.warning("%s", failure)
            return None
        except TransactionPending as pending:
            log.warning("%s", pending)
            self._in_flight = True
            return None
