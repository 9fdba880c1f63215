"""Test support on the project's anvil: the chain as a fixture, and a simulated clock that the chain follows."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from web3 import Web3

from node.chain.anvil import AnvilSettings, EmbeddedAnvil


def anvil_fixture(port: int, scope: str = "module"):
    """A fixture `anvil`: the project's anvil on `port` (each test module has its own), started once per `scope`."""

    @pytest.fixture(scope=scope)
    def anvil():
        with EmbeddedAnvil(AnvilSettings(port=port)) as chain:
            yield chain

    return anvil


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
