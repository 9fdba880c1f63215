"""Test support for the node runtime: a simulated clock that the chain follows."""

from __future__ import annotations

from dataclasses import dataclass

from web3 import Web3


@dataclass
class ChainClock:
    """Simulated node time that the chain follows (anvil's evm_setTime)."""

    w3: Web3
    now: float

    def __call__(self) -> float:
        return self.now

    def set(self, moment: float) -> None:
        self.now = moment
        self.w3.provider.make_request("evm_setTime", [int(moment)])
        self.w3.provider.make_request("evm_mine", [])

    def advance(self, seconds: float) -> None:
        self.set(self.now + seconds)
