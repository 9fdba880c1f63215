"""Suite-wide test configuration."""

import subprocess
import sys
from pathlib import Path

import pytest

CONTRACT_TESTS = Path(__file__).parent / "contracts"


def pytest_collection_modifyitems(items):
    # Contract tests also run on the project's anvil (`make test-contracts-anvil` selects them).
    for item in items:
        if CONTRACT_TESTS in Path(item.fspath).parents:
            item.add_marker(pytest.mark.contracts)


def pytest_sessionstart(session):
    # Node, DApp and browser tests deploy with plain web3 from Ape's compiled manifest; in a fresh
    # clone nothing has compiled it yet when they come first.
    from node.chain.devnet import MANIFEST

    if not MANIFEST.exists():
        subprocess.run([str(Path(sys.executable).with_name("ape")), "compile"], check=True, cwd=MANIFEST.parents[1])
