"""Fixtures for node-runtime tests: the project's anvil on its own port, a fresh community per test."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from chainkit import ChainClock, anvil_fixture  # noqa: E402

from node.chain.devnet import LocalCommunity  # noqa: E402

from node.chain.client import connect  # noqa: E402

ANVIL_PORT = 18645
DAY = 86400

anvil = anvil_fixture(ANVIL_PORT, scope="session")


@pytest.fixture
def w3(anvil):
    return connect(anvil.url)


@pytest.fixture
def clock(w3):
    """Node time at the start of an interval safely after the chain's own clock."""
    latest = w3.eth.get_block("latest")["timestamp"]
    # 11:00 UTC on a later day: the simulated PV panels produce, so allocations are not all zero.
    start = (latest // DAY + 1) * DAY + 11 * 3600
    clock = ChainClock(w3, start)
    clock.set(start)
    return clock


@pytest.fixture
def community(w3, clock):
    return LocalCommunity(w3)
