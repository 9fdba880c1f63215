"""Fixtures for the network tests: a community of three households on three real geth validators."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parents[1] / "node"))  # nodekit: waits and the reference replay

from netkit import make_network  # noqa: E402

# (name, simulated profile, producer, consumer); the last one joins later.
HOUSEHOLDS = [
    ("de-vries", "producer", True, False),
    ("bakker", "consumer", False, True),
    ("smit", "prosumer", True, True),
    ("jansen", "prosumer", True, True),
]
FOUNDERS = 3


@pytest.fixture(scope="module")
def network(tmp_path_factory):
    """The founders' nodes run (each starting its geth) before the admin deploys and admits them."""
    net = make_network(tmp_path_factory.mktemp("community"), HOUSEHOLDS, validators=FOUNDERS, dapps=("bakker",), joiners=1)
    try:
        for household in net.households[:FOUNDERS]:
            net.start(household)
        net.deploy(net.households[:FOUNDERS])
        yield net
    finally:
        net.stop()
