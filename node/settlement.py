"""Reference settlement of one community interval: the arithmetic of Community.settle in Python.

Given each member's reading, roles, key parameters and prepaid balance, it gives what the chain
books: Wh allocated, credits paid and earned, and surplus left for certificates.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from node.allocation import AllocationKey, Consumer, allocate

WH_PER_KWH = 1000


@dataclass(frozen=True)
class MemberInterval:
    """One member with a reading for the interval, as settlement sees it."""

    member_id: int
    import_wh: int
    export_wh: int
    producer: bool
    consumer: bool
    coefficient_ppm: int = 0
    priority: int = 0
    balance: int = 0


@dataclass(frozen=True)
class MemberOutcome:
    """What settlement books for one member."""

    member_id: int
    allocated_wh: int
    paid: int
    earned: int
    surplus_wh: int

    @property
    def token_delta(self) -> int:
        return self.earned - self.paid


@dataclass(frozen=True)
class IntervalOutcome:
    """What settlement books for the interval."""

    production_wh: int
    allocated_wh: int
    paid: int
    unpaid: int
    members: tuple[MemberOutcome, ...]


def settle_interval(key: AllocationKey, price_per_kwh: int, members: Sequence[MemberInterval]) -> IntervalOutcome:
    """Settle one interval the way Community.settle does, members in id order."""
    members = sorted(members, key=lambda m: m.member_id)
    supply = [m.export_wh if m.producer else 0 for m in members]
    production = sum(supply)
    consumers = [
        Consumer(m.import_wh if m.consumer else 0, m.coefficient_ppm, m.priority) for m in members
    ]
    allocated = allocate(key, production, consumers)
    total_allocated = sum(allocated)

    payments = []
    unpaid = 0
    for member, energy in zip(members, allocated):
        cost = energy * price_per_kwh // WH_PER_KWH
        pays = min(cost, member.balance)
        payments.append(pays)
        unpaid += cost - pays
    paid = sum(payments)

    earnings = producer_earnings(paid, supply)
    outcomes = [
        MemberOutcome(member.member_id, allocated[i], payments[i], earnings[i],
                      supply[i] - taken_wh(total_allocated, supply[i], production))
        for i, member in enumerate(members)
    ]
    return IntervalOutcome(production, total_allocated, paid, unpaid, tuple(outcomes))


def producer_earnings(paid: int, supply: Sequence[int]) -> list[int]:
    """The interval's payments shared by producers pro rata to supply; the last producer (by member
    id) gets the rounding remainder, so credits are conserved exactly."""
    production = sum(supply)
    last_producer = max((i for i, s in enumerate(supply) if s), default=None)
    earnings, distributed = [], 0
    for i, s in enumerate(supply):
        earned = 0
        if s:
            earned = paid - distributed if i == last_producer else paid * s // production
            distributed += earned
        earnings.append(earned)
    return earnings


def taken_wh(total_allocated: int, supply_wh: int, production_wh: int) -> int:
    """Wh of a producer's supply the community took: production is taken in proportion to supply,
    rounded up so that surplus (and certificates) are never overstated."""
    return -(-total_allocated * supply_wh // production_wh) if supply_wh else 0
