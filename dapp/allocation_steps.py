""""Why did I get X kWh?": one settled interval's allocation retold step by step with its actual numbers.

The steps follow node.allocation (the Python reference of Allocation.sol) line by line; the numbers
in them are recomputed from the interval's readings, and compared with what the chain booked.
Peer deals come first: the household's own deals are told with their id, price and credits; of other
members' deals only that there were some, and the key shares what the deals left.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from node.allocation import FULL_SHARE_PPM, MAX_PRIORITY, AllocationKey
from node.settlement import taken_wh

from dapp.ledger_view import WH_PER_KWH, CommunityHistory, Delivery, SettledInterval
from dapp.units import credits, energy, price_per_kwh

KEY_FORMULAS = {
    AllocationKey.PRORATA: "Pro rata to consumption (Austria's dynamic model, France's default dynamic key, Luxembourg's "
                           "prorata): every consumer gets the same share of its import. E_i = min(P, ΣC) · C_i / ΣC, "
                           "rounded down, where P is the production, C_i a consumer's import and ΣC all consumers' import.",
    AllocationKey.STATIC_ROUNDS: "Fixed shares in several rounds (Brussels): each consumer is entitled to its coefficient "
                                 "k_i of the production; shares a consumer does not need go, round after round, to the "
                                 "others still short, in proportion to their coefficients. E_i = min(C_i, λ · k_i) for "
                                 "the largest λ that allocates no more than P.",
    AllocationKey.PRIORITY: "Priority levels (Luxembourg's priorité): levels are served in order, level 0 first; inside "
                            "the level where production runs out, consumers share pro rata to their import.",
    AllocationKey.STATIC_FIXED: "Fixed shares (Austria's static model): each consumer is entitled to its coefficient k_i "
                                "of the production, E_i = min(C_i, ⌊P · k_i⌋); a share it does not use is surplus fed "
                                "to the grid, never passed on to the others.",
    AllocationKey.SCHEDULED: "The community's own percentages (France's dynamique simple): all producers' export goes "
                             "into one pot, and each consumer gets the percentage the community set for this quarter-hour "
                             "of a weekday or weekend day, E_i = min(C_i, ⌊P · k_i⌋); an unused share is surplus.",
}


@dataclass(frozen=True)
class MemberRow:
    """One member's numbers in the interval, by pseudonym: its reading less what peer deals metered of it
    (what the community's settlement saw), so no other member's deal can be read off the table."""

    name: str
    me: bool
    role: str
    import_wh: int  # import left for the community after deals
    export_wh: int  # export left for the community after deals
    supply_wh: int
    demand_wh: int
    coefficient_ppm: int
    priority: int
    reference_wh: int
    booked_wh: int | None
    booked_delta: int | None
    cost: int | None  # at the local price, before balances

    @property
    def matches(self) -> bool:
        return self.booked_wh == self.reference_wh


@dataclass(frozen=True)
class Step:
    text: str
    lines: tuple[str, ...] = ()


@dataclass(frozen=True)
class Explanation:
    settled: SettledInterval
    formula: str
    members: tuple[MemberRow, ...]
    steps: tuple[Step, ...]
    payment: tuple[Step, ...]
    mismatches: tuple[str, ...]
    mine: MemberRow | None


def explain(settled: SettledInterval, history: CommunityHistory, member_id: int | None,
            deal_prices: dict[int, int] | None = None) -> Explanation:
    """The interval retold; `deal_prices` (offer id -> price per kWh) names the prices of this member's deals."""
    outcome = settled.reference()
    allocated = {o.member_id: o.allocated_wh for o in outcome.members}
    rows = {}
    for m, (imported, exported) in sorted(settled.readings.items()):
        profile = settled.profiles[m]
        booked = settled.booked.get(m)
        rows[m] = MemberRow(
            history.pseudonym(m) + (" (you)" if m == member_id else ""), m == member_id, profile.role,
            imported - settled.dealt_import(m), exported - settled.dealt_export(m), settled.supply(m),
            settled.demand(m), settled.shares.get(m, 0) if settled.key == AllocationKey.SCHEDULED else profile.coefficient_ppm,
            profile.priority, allocated[m],
            booked[0] if booked else None, booked[1] if booked else None,
            None if settled.price is None else allocated[m] * settled.price // WH_PER_KWH,
        )
    dealt = bool(settled.deliveries)
    steps = _deals(settled, member_id, deal_prices or {})
    steps += [_production(rows, outcome.production_wh, dealt), _demand(rows, dealt)]
    steps += _ALLOCATORS[settled.key](list(rows.values()), outcome.production_wh)
    return Explanation(settled, KEY_FORMULAS[settled.key], tuple(rows.values()), tuple(steps),
                       tuple(_payment(settled, rows)), tuple(settled.mismatches(outcome)), rows.get(member_id))


def _deals(settled: SettledInterval, member_id: int | None, prices: dict[int, int]) -> list[Step]:
    """Peer deals, metered before the interval was settled: this member's own, told in full."""
    if not settled.deliveries:
        return []
    bought, sold = settled.bought(member_id), settled.sold(member_id)
    mine = [_bought(d, prices) for d in bought] + [_sold(d, prices) for d in sold]
    # Of other members' deals not even their total: in a small community it would tell who traded how much.
    others = len(settled.deliveries) > len(bought) + len(sold)
    if not mine:
        return [Step("Peer deals between other members came first; the community key shared what they left:")]
    return [Step("Peer deals come first:", tuple(mine)),
            Step(f"The community key shared what your deals{' and other members’ deals' if others else ''} left:")]


def _bought(delivery: Delivery, prices: dict[int, int]) -> str:
    return (f"{energy(delivery.wh)} of your import came through deal #{delivery.offer_id}"
            f"{_at_price(delivery, prices)} ({credits(delivery.tokens, 4)} paid through the deal)")


def _sold(delivery: Delivery, prices: dict[int, int]) -> str:
    return (f"{energy(delivery.wh)} of your export went to deal #{delivery.offer_id}"
            f"{_at_price(delivery, prices)} ({credits(delivery.tokens, 4)} earned through the deal)")


def _at_price(delivery: Delivery, prices: dict[int, int]) -> str:
    price = prices.get(delivery.offer_id)
    return "" if price is None else f" at {price_per_kwh(price)}"


def _sum(parts: list[tuple[str, int]], unit: str = "Wh") -> str:
    return " + ".join(f"{value} {unit} ({name})" for name, value in parts) or "nothing"


def _production(rows: dict[int, MemberRow], production: int, dealt: bool) -> Step:
    supply = [(r.name, r.supply_wh) for r in rows.values() if r.supply_wh]
    less = ", less what they delivered under peer deals" if dealt else ""
    return Step(f"Production P is the export of the members with the producer role{less}: {_sum(supply)} = {production} Wh.")


def _demand(rows: dict[int, MemberRow], dealt: bool) -> Step:
    demand = [(r.name, r.demand_wh) for r in rows.values() if r.demand_wh]
    less = ", less what peer deals delivered to them" if dealt else ""
    return Step(f"Demand ΣC is the import of the members with the consumer role{less}: {_sum(demand)} = "
                f"{sum(r.demand_wh for r in rows.values())} Wh.")


def _prorata(rows: list[MemberRow], production: int) -> list[Step]:
    total = sum(r.demand_wh for r in rows)
    if total <= production:
        return [Step(f"ΣC = {total} Wh ≤ P = {production} Wh: production covers every consumer's whole import; "
                     f"the other {production - total} Wh went to the grid.")]
    return [Step(f"ΣC = {total} Wh > P = {production} Wh: production is short, so each consumer gets ⌊P · C_i / ΣC⌋:",
                 tuple(f"{r.name}: ⌊{production} · {r.demand_wh} / {total}⌋ = {r.reference_wh} Wh"
                       for r in rows if r.demand_wh))]


def _static(rows: list[MemberRow], production: int) -> list[Step]:
    steps = []
    keyless = [r.name for r in rows if r.demand_wh and not r.coefficient_ppm]
    if keyless:
        steps.append(Step(f"Without a coefficient, {', '.join(keyless)} get nothing under this key."))
    members = sorted((r for r in rows if r.demand_wh and r.coefficient_ppm),
                     key=lambda r: Fraction(r.demand_wh, r.coefficient_ppm))
    remaining, keys = production, sum(r.coefficient_ppm for r in members)
    lines = []
    for position, r in enumerate(members):
        if r.demand_wh * keys > remaining * r.coefficient_ppm:
            rest = members[position:]
            lines.append(f"The rest want more than their share, so they split the R = {remaining} Wh left by "
                         f"coefficient, ⌊R · k_i / K⌋ with K = {keys} ppm:")
            lines += [f"{s.name}: ⌊{remaining} · {s.coefficient_ppm} / {keys}⌋ = {s.reference_wh} Wh" for s in rest]
            break
        lines.append(f"{r.name}: import {r.demand_wh} Wh ≤ its share R · k_i / K = {remaining} · {r.coefficient_ppm} / "
                     f"{keys} → gets all {r.demand_wh} Wh")
        remaining -= r.demand_wh
        keys -= r.coefficient_ppm
    if members:
        steps.append(Step("Consumers in order of import per coefficient (C_i / k_i), starting with R = P and K = the "
                          "sum of their coefficients:", tuple(lines)))
    return steps


def _priority(rows: list[MemberRow], production: int) -> list[Step]:
    lines, remaining = [], production
    for level in range(MAX_PRIORITY + 1):
        members = [r for r in rows if r.priority == level and r.demand_wh]
        if not members:
            continue
        demand = sum(r.demand_wh for r in members)
        names = ", ".join(r.name for r in members)
        if demand <= remaining:
            lines.append(f"Level {level} ({names}): demand {demand} Wh ≤ {remaining} Wh left → served in full")
        else:
            lines.append(f"Level {level}: demand {demand} Wh > {remaining} Wh left → shared pro rata, ⌊{remaining} · C_i / {demand}⌋: "
                         + "; ".join(f"{r.name} {r.reference_wh} Wh" for r in members))
        remaining -= min(demand, remaining)
    return [Step("Levels in order, each taking what is left:", tuple(lines))]


def _fixed(rows: list[MemberRow], production: int) -> list[Step]:
    lines = []
    for r in rows:
        if not r.demand_wh:
            continue
        share = production * r.coefficient_ppm // FULL_SHARE_PPM
        fate = (f"uses {r.demand_wh} Wh of it; the other {share - r.demand_wh} Wh are surplus"
                if r.demand_wh < share else f"gets all of it, {r.reference_wh} Wh")
        lines.append(f"{r.name}: share ⌊{production} · {r.coefficient_ppm / 10_000:g} %⌋ = {share} Wh, import "
                     f"{r.demand_wh} Wh → {fate}")
    return [Step("Each consumer takes its own share of P, up to its import; nothing is passed on:", tuple(lines))]


_ALLOCATORS = {AllocationKey.PRORATA: _prorata, AllocationKey.STATIC_ROUNDS: _static, AllocationKey.PRIORITY: _priority,
               AllocationKey.STATIC_FIXED: _fixed, AllocationKey.SCHEDULED: _fixed}


def _payment(settled: SettledInterval, rows: dict[int, MemberRow]) -> list[Step]:
    steps = []
    if settled.price is None:
        steps.append(Step("The local price in force is not in the mirror, so costs cannot be recomputed here."))
    else:
        steps.append(Step(f"Each consumer owes ⌊E_i · price / 1000⌋ at the local price of {price_per_kwh(settled.price)}:",
                          tuple(f"{r.name}: {energy(r.reference_wh)} → {credits(r.cost, 4)}" for r in rows.values() if r.reference_wh)))
    steps.append(Step(
        f"Consumers pay out of their prepaid balances. Balances are not in the mirror, but the allocation above never "
        f"depends on them: only how much of what is owed gets paid. The chain booked {credits(settled.paid, 4)} paid"
        f" and {credits(settled.unpaid, 4)} owed but not prepaid."))
    earnings = settled.earnings()
    producers = [m for m in rows if rows[m].supply_wh]
    if producers:
        steps.append(Step(
            "Producers share what was paid in proportion to their supply, ⌊paid · s_i / P⌋; the last producer (by member "
            "number) gets the rounding remainder. Each gives the community ⌈allocated · s_i / P⌉ of its supply s_i, the rest goes to the grid:",
            tuple(f"{rows[m].name}: receives {credits(earnings[m], 4)}, gives "
                  f"{energy(taken_wh(settled.allocated_wh, rows[m].supply_wh, settled.production_wh))} of {energy(rows[m].supply_wh)}" for m in producers)))
    return steps

