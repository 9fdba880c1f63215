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
SHARE_SETS = 16  # SCHEDULED: share sets 0..15
SCHEDULE_SLOTS = 192  # SCHEDULED: 96 weekday quarter-hours from 00:00 UTC, then 96 of Saturday and Sunday
QUARTER_HOUR_S = 900
DAY_S = 86_400


class AllocationKey(IntEnum):
    """The community's allocation keys, numbered as in ICommunity.AllocationKey (docs/contracts.md
    names each one's source rule)."""

    PRORATA = 0  # Austria dynamic, France "dynamique par défaut", Luxembourg "prorata"
    STATIC_ROUNDS = 1  # Brussels: fixed key in several rounds
    PRIORITY = 2  # Luxembourg "priorité"
    STATIC_FIXED = 3  # Austria static: an unused share is surplus
    SCHEDULED = 4  # France "dynamique simple": the community's percentages per quarter-hour



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
    if key == AllocationKey.STATIC_ROUNDS:
        return static_rounds(production_wh, demand, [c.coefficient_ppm for c in consumers])
    if key in (AllocationKey.STATIC_FIXED, AllocationKey.SCHEDULED):
        return fixed_shares(production_wh, demand, [c.coefficient_ppm for c in consumers])
    if key == AllocationKey.PRIORITY:
        return priority(production_wh, demand, [c.priority for c in consumers])
    raise AllocationError(f"unknown allocation key {key!r}")


def prorata(production: int, demand: Sequence[int]) -> list[int]:
    """E_i = min(P, ΣC)·C_i/ΣC, rounded down."""
    total = sum(demand)
    if total <= production:
        return list(demand)
    return [production * c // total for c in demand]


def fixed_shares(production: int, demand: Sequence[int], share_ppm: Sequence[int]) -> list[int]:
    """E_i = min(C_i, P·k_i), rounded down: a share a consumer does not use is surplus, not passed on."""
    return [min(c, production * k // FULL_SHARE_PPM) for c, k in zip(demand, share_ppm)]


def static_rounds(production: int, demand: Sequence[int], coefficient_ppm: Sequence[int]) -> list[int]:
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
    """STATIC_ROUNDS as the tariff text states it, in exact fractions: shares min(C_i, k_i·P), then unused
    production redistributed to unmet members in proportion to their keys until nothing moves.
    `static_rounds` is its closed form; the two agree to within rounding."""
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


def schedule_slot(start_unix: int) -> int:
    """The SCHEDULED key's slot for an interval starting at `start_unix`, as Community._shareSetAt
    computes it: the quarter-hour of the UTC day, plus 96 on a Saturday or Sunday."""
    slot = start_unix % DAY_S // QUARTER_HOUR_S
    weekday = (start_unix // DAY_S + 3) % 7  # 1970-01-01 was a Thursday; Monday is 0
    return slot + 96 if weekday >= 5 else slot


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
