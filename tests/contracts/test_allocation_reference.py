"""The Python reference allocation agrees with the contract's library on 600 random cases."""

import random

import pytest

from node.allocation import FULL_SHARE_PPM, AllocationKey, prorata, priority, static_key

CASES_PER_KEY = 200


@pytest.fixture(scope="module")
def harness(project, admin):
    return admin.deploy(project.AllocationHarness)


def random_case(rng: random.Random):
    n = rng.randint(1, 40)
    scale = rng.choice([10, 1000, 100_000, 2**32 - 1])
    demand = [rng.randint(0, scale) if rng.random() > 0.15 else 0 for _ in range(n)]
    production = rng.randint(0, max(1, sum(demand) * 2)) if rng.random() > 0.1 else sum(demand)
    weights = [rng.randint(0, 1000) if rng.random() > 0.2 else 0 for _ in range(n)]
    share = rng.randint(1, FULL_SHARE_PPM)
    coefficients = [w * share // (sum(weights) or 1) for w in weights]
    levels = [rng.randint(0, 15) for _ in range(n)]
    return production, demand, coefficients, levels


@pytest.mark.parametrize("key", list(AllocationKey), ids=lambda k: k.name)
def test_reference_allocation_equals_the_contract(harness, key):
    rng = random.Random(f"allocation-{key.name}")
    for _ in range(CASES_PER_KEY):
        production, demand, coefficients, levels = random_case(rng)
        if key == AllocationKey.PRORATA:
            actual, expected = harness.prorata(production, demand), prorata(production, demand)
        elif key == AllocationKey.STATIC:
            actual = harness.staticKey(production, demand, coefficients)
            expected = static_key(production, demand, coefficients)
        else:
            actual, expected = harness.priority(production, demand, levels), priority(production, demand, levels)
        assert list(actual) == expected, (production, demand, coefficients, levels)
