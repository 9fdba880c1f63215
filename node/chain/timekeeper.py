"""Keeps a development chain's block time in step with accelerated simulated time (anvil only).

A demo runs a 15-minute interval in 15 seconds; the Community contract checks interval ends
against block timestamps, so the chain must live in the same simulated time as the nodes.
"""

from __future__ import annotations

from typing import Callable

from web3 import Web3


class ChainTimeKeeper:
    """Moves anvil's clock forward to the simulated time on every `step()`; never backwards."""

    def __init__(self, w3: Web3, clock: Callable[[], float], mine: bool = True):
        self.w3 = w3
        self.clock = clock
        self.mine = mine
        self.set_to: int | None = None

    def step(self) -> None:
        target = int(self.clock())
        if self.set_to is not None and target <= self.set_to:
            return
        self.w3.provider.make_request("evm_setTime", [target])
        if self.mine:
            # A block at the new time, so views and `latest` see it without waiting for a transaction.
            self.w3.provider.make_request("evm_mine", [])
        self.set_to = target

    def close(self) -> None:
        """Nothing to release; a supervised part needs it."""
