"""Reference allocation of a community interval: the same integer arithmetic as Allocation.sol.

The DApp uses it to explain bills ("why did I get X kWh?") and to recompute a month under other
keys; the contract tests check it agrees with the chain exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from fractions import Fraction
from typing import Sequence

from node.errors import AllocationError

FULL_SHARE_PPM = 1_000_000
MAX_PRIORITY = 15


class AllocationKey(IntEnum):
    """The community's allocation keys, numbered as in ICommunity.AllocationKey."""

    PRORATA = 0
    STATIC = 1
    PRIORITY = 2


@dataclass(frozen=True)
class Consumer:
    """One member's side of an interval: its demand and its key parameters."""

    demand_wh: int
    coefficient_ppm: int = 0
    priority: int = 0


def allocate(key: AllocationKey, production_wh: int, consumers: Sequence[Consumer]) -> list[int]:
    """Wh allocated to each consumer, in order."""
    _check(production_wh, consumers)
    demand = [c.demand_wh for c in consumers]
    if key == AllocationKey.PRORATA:
        return prorata(production_wh, demand)
    if key == AllocationKey.STATIC:
        return static_key(production_wh, demand, [c.coefficient_ppm for c in consumers])
    if key == AllocationKey.PRIORITY:
        return priority(production_wh, demand, [c.priority for c in consumers])
    raise AllocationError(f"unknown allocation key {key!r}")


def prorata(production: int, demand: Sequence[int]) -> list[int]:
    """E_i = min(P, ΣC)·C_i/ΣC, rounded down."""
    total = sum(demand)
    if total <= production:
        return list(demand)
    return [production * c // total for c in demand]


def static_key(production: int, demand: Sequence[int], coefficient_ppm: Sequence[int]) -> list[int]:
    """E_i = min(C_i, λ·k_i), the largest λ allocating no more than P (water-filling).

    Members sorted by C_i/k_i saturate while C_i·K ≤ R·k_i (R, K: production and keys left);
    the rest share R in proportion to their keys, rounded down.
    """
    allocated = [0] * len(demand)
    members = [i for i, (c, k) in enumerate(zip(demand, coefficient_ppm)) if c > 0 and k > 0]
    members.sort(key=lambda i: Fraction(demand[i], coefficient_ppm[i]))
    remaining, keys = production, sum(coefficient_ppm[i] for i in members)
    for position, i in enumerate(members):
        if demand[i] * keys > remaining * coefficient_ppm[i]:
            for j in members[position:]:
                allocated[j] = remaining * coefficient_ppm[j] // keys
            break
        allocated[i] = demand[i]
        remaining -= demand[i]
        keys -= coefficient_ppm[i]
    return allocated


def static_key_by_rounds(production: int, demand: Sequence[int], coefficient_ppm: Sequence[int]) -> list[Fraction]:
    """STATIC as the tariff text states it, in exact fractions: shares min(C_i, k_i·P), then unused
    production redistributed to unmet members in proportion to their keys until nothing moves.
    `static_key` is its closed form; the two agree to within rounding."""
    allocated = [Fraction(min(c, Fraction(k * production, FULL_SHARE_PPM))) for c, k in zip(demand, coefficient_ppm)]
    while True:
        left = production - sum(allocated)
        unmet = [i for i, (c, k) in enumerate(zip(demand, coefficient_ppm)) if k > 0 and allocated[i] < c]
        if left <= 0 or not unmet:
            return allocated
        keys = sum(coefficient_ppm[i] for i in unmet)
        for i in unmet:
            allocated[i] = min(Fraction(demand[i]), allocated[i] + left * coefficient_ppm[i] / keys)


def priority(production: int, demand: Sequence[int], level: Sequence[int]) -> list[int]:
    """Levels served in order from 0; pro rata inside the level where production runs out."""
    level_demand = [0] * (MAX_PRIORITY + 1)
    for c, lv in zip(demand, level):
        level_demand[lv] += c
    level_energy = [0] * (MAX_PRIORITY + 1)
    remaining = production
    for lv in range(MAX_PRIORITY + 1):
        served = min(level_demand[lv], remaining)
        level_energy[lv] = served
        remaining -= served
    return [
        c if level_energy[lv] == level_demand[lv] else level_energy[lv] * c // level_demand[lv]
        for c, lv in zip(demand, level)
    ]


def _check(production: int, consumers: Sequence[Consumer]) -> None:
    if production < 0:
        raise AllocationError(f"production must not be negative, got {production} Wh")
    for n, c in enumerate(consumers):
        if c.demand_wh < 0:
            raise AllocationError(f"consumer {n}: demand must not be negative, got {c.demand_wh} Wh")
        if not 0 <= c.priority <= MAX_PRIORITY:
            raise AllocationError(f"consumer {n}: priority must be 0..{MAX_PRIORITY}, got {c.priority}")
        if c.coefficient_ppm < 0:
            raise AllocationError(f"consumer {n}: coefficient must not be negative")
    total = sum(c.coefficient_ppm for c in consumers)
    if total > FULL_SHARE_PPM:
        raise AllocationError(f"coefficients add up to {total / 10_000:.2f}%, over 100%")
