"""Reference settlement of one community interval: the arithmetic of Community.settle in Python.

Given each member's reading, roles, key parameters and prepaid balance, it gives what the chain
books: Wh allocated, credits paid and earned, and surplus left for certificates.

Peer deals come first: what EnergyExchange metered of a reading before the interval was settled
(`dealt_import_wh`, `dealt_export_wh`) is paid through the deal, and the community key shares only
what is left, so no Wh is paid for twice.
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
    dealt_import_wh: int = 0  # of import_wh, what peer deals delivered to this member
    dealt_export_wh: int = 0  # of export_wh, what this member delivered under peer deals
    share_ppm: int = 0  # SCHEDULED: the member's share in the share set the interval's quarter-hour uses

    def key_share_ppm(self, key: AllocationKey) -> int:
        """The share `key` gives this member: the scheduled one under SCHEDULED, else the coefficient."""
        return self.share_ppm if key == AllocationKey.SCHEDULED else self.coefficient_ppm

    @property
    def community_import_wh(self) -> int:
        """Import the community key may cover: what deals did not."""
        return self.import_wh - self.dealt_import_wh

    @property
    def community_export_wh(self) -> int:
        """Export the community may take: what deals did not."""
        return self.export_wh - self.dealt_export_wh


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
    supply = [m.community_export_wh if m.producer else 0 for m in members]
    production = sum(supply)
    consumers = [
        Consumer(m.community_import_wh if m.consumer else 0, m.key_share_ppm(key), m.priority) for m in members
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


@dataclass(frozen=True)
class DealDelivery:
    """One accepted deal asked to meter an interval: who delivers to whom, and the Wh still due."""

    producer_id: int
    consumer_id: int
    due_wh: int


def book_deliveries(readings: dict[int, tuple[int, int]], deliveries: Sequence[DealDelivery]) -> list[int]:
    """The Wh EnergyExchange meters for each delivery, in the order they are recorded: the least of
    what is still due, the producer's export and the consumer's import not yet taken by an earlier
    deal of the same interval (first come, first served). `readings` maps member id to (import, export)."""
    import_left = {m: r[0] for m, r in readings.items()}
    export_left = {m: r[1] for m, r in readings.items()}
    booked = []
    for d in deliveries:
        wh = min(d.due_wh, export_left.get(d.producer_id, 0), import_left.get(d.consumer_id, 0))
        export_left[d.producer_id] = export_left.get(d.producer_id, 0) - wh
        import_left[d.consumer_id] = import_left.get(d.consumer_id, 0) - wh
        booked.append(wh)
    return booked


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
