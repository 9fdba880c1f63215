"""Settling intervals: any node may settle a closed interval once its grace period is over.

A node settles the interval of its own latest reading, because its next reading needs it settled.
It waits until every active member has reported, or, if someone stays silent, for `patience`
seconds more. The patience runs from the later of the grace period's end and the moment this
settler met the chain: after an outage every interval's grace is long over, and a node that is
back first must still give its neighbours' queued readings time to arrive. Several nodes racing to settle is harmless: the losers see
CommunityIntervalSettled, which counts as done. Just before settling, `before_settling` meters the
peer deals of the interval that their parties have not metered yet (see node.exchange.agent).
"""

from __future__ import annotations

import logging
from typing import Callable

from node.chain.community import CommunityView
from node.chain.sender import TransactionFailed, TransactionPending, TransactionSender

log = logging.getLogger(__name__)


class Settler:
    """Settles intervals when they are due."""

    def __init__(
        self,
        community: CommunityView,
        sender: TransactionSender,
        clock: Callable[[], float],
        patience: float = 300.0,
        before_settling: Callable[[int], None] = lambda interval: None,
    ):
        self.community = community
        self.before_settling = before_settling
        self.sender = sender
        self.clock = clock
        self.patience = patience
        self.settled_by_me: list[int] = []  # for status and benchmarks; bounded below
        self._known_settled: set[int] = set()
        self._connected_at = clock()  # a settler is built with each new chain connection

    def settle_latest_reading(self, member_id: int) -> None:
        """Settle the interval of the member's latest reading if it is due."""
        interval = self.community.ledger(member_id).reading_interval
        if interval:
            self.settle_if_due(interval)

    def settle_if_due(self, interval: int) -> bool:
        """True once the interval is settled (by anyone)."""
        if interval in self._known_settled:
            return True
        if self.community.is_settled(interval):
            self._remember(interval)
            return True
        closes = self.community.interval_end(interval) + self.community.grace_period()
        now = self.clock()
        if now < closes:
            return False
        if now < max(closes, self._connected_at) + self.patience and not self.community.everyone_reported(interval):
            return False
        self.before_settling(interval)
        try:
            self.sender.transact(self.community.contract.functions.settle(interval), f"settlement of interval {interval}")
        except TransactionFailed as failure:
            if failure.error and failure.error.name == "CommunityIntervalSettled":
                self._remember(interval)
                return True
            if not (failure.error and failure.error.name == "CommunityGracePeriodRunning"):
                log.warning("%s", failure)
            return False
        except TransactionPending as pending:
            log.warning("%s", pending)
            return False
        log.info("settled interval %d", interval)
        self.settled_by_me = [*self.settled_by_me[-99:], interval]
        self._remember(interval)
        return True

    def _remember(self, interval: int) -> None:
        if len(self._known_settled) > 1000:
            self._known_settled.clear()
        self._known_settled.add(interval)
