"""Suite-wide test configuration."""

from pathlib import Path

import pytest

CONTRACT_TESTS = Path(__file__).parent / "contracts"


def pytest_collection_modifyitems(items):
    # Contract tests also run on the project's anvil (`make test-contracts-anvil` selects them).
    for item in items:
        if CONTRACT_TESTS in Path(item.fspath).parents:
            item.add_marker(pytest.mark.contracts)
