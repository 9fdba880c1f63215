"""The Python reference allocation agrees with the contract's library on 800 random cases."""

import random

import pytest

from node.allocation import FULL_SHARE_PPM, fixed_shares, prorata, priority, static_rounds

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


# Each library function against its reference; STATIC_FIXED and SCHEDULED share fixedShares.
FUNCTIONS = {
    "prorata": (lambda h, p, d, c, lv: h.prorata(p, d), lambda p, d, c, lv: prorata(p, d)),
    "staticRounds": (lambda h, p, d, c, lv: h.staticRounds(p, d, c), lambda p, d, c, lv: static_rounds(p, d, c)),
    "fixedShares": (lambda h, p, d, c, lv: h.fixedShares(p, d, c), lambda p, d, c, lv: fixed_shares(p, d, c)),
    "priority": (lambda h, p, d, c, lv: h.priority(p, d, lv), lambda p, d, c, lv: priority(p, d, lv)),
}


@pytest.mark.parametrize("function", FUNCTIONS)
def test_reference_allocation_equals_the_contract(harness, function):
    on_chain, reference = FUNCTIONS[function]
    rng = random.Random(f"allocation-{function}")
    for _ in range(CASES_PER_KEY):
        case = random_case(rng)
        assert list(on_chain(harness, *case)) == reference(*case), case
