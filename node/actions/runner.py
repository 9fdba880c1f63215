"""Carries out the operator's chain actions with the node's one TransactionSender (in the chain part)."""

from __future__ import annotations

import logging
from typing import Callable

from node.actions.chain_actions import CHAIN_ACTIONS
from node.actions.queue import PENDING, ActionQueue
from node.chain.client import ChainUnreachable
from node.chain.sender import TransactionFailed, TransactionPending

log = logging.getLogger(__name__)

# A broadcast transaction the chain still does not know after this long was dropped (e.g. the
# node's chain client restarted without it); the operator is told to try again.
FORGET_AFTER = 600.0


class ActionRunner:
    """Each tick: settles what is pending, then sends every queued chain action, oldest first."""

    def __init__(self, queue: ActionQueue, contracts, sender, wall: Callable[[], float]):
        self.queue = queue
        self.contracts = contracts
        self.sender = sender
        self.wall = wall

    def tick(self) -> None:
        for action in self.queue.open_actions(CHAIN_ACTIONS):
            if action.state == PENDING:
                self._follow(action)
            else:
                self._carry_out(action)

    def _follow(self, action) -> None:
        """A transaction recorded before a restart: mined, reverted, or still on its way."""
        mined = self.sender.receipt_status(action.tx_hash)
        if mined is True:
            self.queue.confirm(action.id)
        elif mined is False:
            self.queue.fail(action.id, "the transaction reverted on chain")
        elif self.wall() - action.requested_at > FORGET_AFTER:
            self.queue.fail(action.id, f"transaction {action.tx_hash} never reached a block; try again")

    def _carry_out(self, action) -> None:
        try:
            calls = CHAIN_ACTIONS[action.kind](self.contracts, self.sender.address, action.params)
        except Exception as error:  # whatever web3 thinks of the arguments: this request only, not the part
            self.queue.fail(action.id, f"the request is incomplete or malformed: {error}")
            return
        *preparation, (final, purpose) = calls
        try:
            for call, step in preparation:
                self.sender.transact(call, step)
            sent = self.sender.transact(final, purpose, before_broadcast=lambda tx, _nonce: self.queue.mark_pending(action.id, tx))
        except TransactionFailed as error:
            log.warning("action %d (%s): %s", action.id, action.kind, error)
            self.queue.fail(action.id, str(error.error) if error.error else str(error))
            return
        except TransactionPending:
            return  # followed on the next ticks
        except ChainUnreachable:
            raise  # the part reconnects; the action stays queued
        except Exception as error:  # never let one odd request stop the node's readings
            log.warning("action %d (%s) failed: %s", action.id, action.kind, error)
            self.queue.fail(action.id, f"the chain client refused it: {error}")
            return
        self.queue.confirm(action.id, sent.block_number)
        log.info("action %d (%s) confirmed in block %d", action.id, action.kind, sent.block_number)
