"""The node's side of peer exchanges: meter delivery after each reading, close finished deals, and
accept a neighbour's offer by itself when the battery runs low (the DAISEE loop)."""

from __future__ import annotations

import logging
from typing import Callable

from web3.contract import Contract

from node.chain.community import CommunityView
from node.chain.sender import TransactionFailed, TransactionPending, TransactionSender
from node.config import ExchangeConfig
from node.exchange.deals import ACCEPTED, OPEN, Deal, deals
from node.mirror.db import MirrorDB

log = logging.getLogger(__name__)

# Someone else got there first: the deal's state already is what we wanted.
_ALREADY = {"ExchangeIntervalAlreadyMetered", "ExchangeFinished", "ExchangeOfferNotOpen", "ExchangeNotAccepted"}


class ExchangeAgent:
    """Runs in the node's chain-writing part, with its one sender."""

    def __init__(
        self,
        exchange: Contract,
        token: Contract,
        community: CommunityView,
        sender: TransactionSender,
        mirror: MirrorDB,
        clock: Callable[[], float],
        settings: ExchangeConfig,
        battery_soc: Callable[[], float | None] = lambda: None,
    ):
        self.exchange = exchange
        self.token = token
        self.community = community
        self.sender = sender
        self.mirror = mirror
        self.clock = clock
        self.settings = settings
        self.battery_soc = battery_soc
        self.account = sender.address

    def tick(self) -> None:
        current = int(self.clock()) // self.community.interval_length
        all_deals = deals(self.mirror)
        mine = [d for d in all_deals.values() if self.account in (d.producer, d.consumer)]
        for deal in mine:
            if deal.state == ACCEPTED and deal.first_interval <= current:
                self.meter(deal.offer_id)
            # The contract closes a deal once its last interval is settled, so that interval's delivery counts.
            if deal.state in (OPEN, ACCEPTED) and current > deal.last_interval and self.community.is_settled(deal.last_interval):
                self._try(self.exchange.functions.close(deal.offer_id), f"closing exchange {deal.offer_id}")
        if self.settings.auto_accept:
            self.accept_if_needed(current, all_deals)

    def after_reading(self, interval: int) -> None:
        """A reading of ours reached the chain: meter every deal it may deliver for."""
        for deal in deals(self.mirror).values():
            if deal.state == ACCEPTED and self.account in (deal.producer, deal.consumer):
                if deal.first_interval <= interval <= deal.last_interval:
                    self.meter(deal.offer_id)

    def meter(self, offer_id: int) -> None:
        _interval, _wh, ready = self.exchange.functions.pendingDelivery(offer_id).call()
        if ready:
            self._try(self.exchange.functions.recordDelivery(offer_id), f"metering exchange {offer_id}")

    def accept_if_needed(self, current: int, known: dict[int, Deal]) -> Deal | None:
        """Accept the cheapest suitable offer while the battery is below the threshold and no deal runs."""
        soc = self.battery_soc()
        if soc is None or soc >= self.settings.battery_below_pct:
            return None
        all_deals = known.values()
        if any(d.consumer == self.account and d.state == ACCEPTED for d in all_deals):
            return None
        suitable = sorted(
            (
                d for d in all_deals
                if d.state == OPEN and d.producer != self.account and d.first_interval > current
                and d.wh <= self.settings.max_wh and d.price_per_kwh <= self.settings.max_price_per_kwh
            ),
            key=lambda d: (d.price_per_kwh, d.first_interval, d.offer_id),
        )
        for deal in suitable:
            cost = deal.wh * deal.price_per_kwh // 1000
            if self.token.functions.balanceOf(self.account).call() < cost:
                log.warning("battery at %.0f%% but %s has too few tokens for offer %d", soc, self.account, deal.offer_id)
                return None
            if self.token.functions.allowance(self.account, self.exchange.address).call() < cost:
                self._try(self.token.functions.approve(self.exchange.address, cost), f"approving {cost} for exchange {deal.offer_id}")
            if self._try(self.exchange.functions.accept(deal.offer_id), f"accepting exchange {deal.offer_id}"):
                log.info("battery at %.0f%%: accepted offer %d (%d Wh)", soc, deal.offer_id, deal.wh)
                return deal
        return None

    def _try(self, call, purpose: str) -> bool:
        try:
            self.sender.transact(call, purpose)
        except TransactionFailed as failure:
            if not (failure.error and failure.error.name in _ALREADY):
                log.warning("%s", failure)
            return False
        except TransactionPending as pending:
            log.warning("%s", pending)
            return False
        return True
