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

    last_producer = max((i for i, s in enumerate(supply) if s), default=None)
    outcomes, distributed = [], 0
    for i, member in enumerate(members):
        earned = surplus = 0
        if supply[i]:
            earned = paid - distributed if i == last_producer else paid * supply[i] // production
            distributed += earned
            taken = -(-total_allocated * supply[i] // production)  # rounded up: surplus never overstated
            surplus = supply[i] - taken
        outcomes.append(MemberOutcome(member.member_id, allocated[i], payments[i], earned, surplus))
    return IntervalOutcome(production, total_allocated, paid, unpaid, tuple(outcomes))
