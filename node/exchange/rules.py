"""The trading rules as decisions, from data only (rules, forecast hours, deals, the time): which offers
a producer posts from its forecast surplus, and which neighbours' offers a household accepts.

Energy is planned per interval. An hour's expected surplus or shortage is spread evenly over the
intervals starting in it; a deal's Wh still due fill the shortage of its window's intervals in
time order, as the contract meters a deal as early as the readings allow.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta, tzinfo
from typing import Iterable

from node.config import ExchangeConfig
from node.exchange.deals import ACCEPTED, OPEN, Deal
from node.forecast.hours import HOUR
from node.forecast.surplus import SurplusHour

MAX_WINDOW_INTERVALS = 96  # EnergyExchange.MAX_WINDOW_INTERVALS
# An offered hour starts at least this many intervals after the current one: a whole interval for
# neighbours' nodes to see the offer and accept it before its window starts (the contract's limit).
LEAD_INTERVALS = 2


@dataclass(frozen=True)
class PlannedOffer:
    """An offer the producer rule posts: Wh, price in token units per kWh, window in interval numbers."""

    wh: int
    price_per_kwh: int
    first_interval: int
    last_interval: int


def cost(wh: int, price_per_kwh: int) -> int:
    """What the consumer escrows, as the contract computes it."""
    return wh * price_per_kwh // 1000


def local_day(now: float, zone: tzinfo, days_ahead: int) -> tuple[int, int]:
    """[start, end) in unix seconds of the local calendar day `days_ahead` days after `now`'s."""
    day = datetime.fromtimestamp(now, zone).date() + timedelta(days=days_ahead)
    start = datetime.combine(day, time(0), zone)
    end = datetime.combine(day + timedelta(days=1), time(0), zone)
    return int(start.timestamp()), int(end.timestamp())


def offer_day(rules: ExchangeConfig, now: float, zone: tzinfo) -> tuple[int, int]:
    """The local day the producer rule offers for: tomorrow, or today."""
    return local_day(now, zone, 1 if rules.offer_day == "tomorrow" else 0)


def hour_window(start: int, length: int) -> tuple[int, int] | None:
    """The intervals lying inside the hour from `start`, as (first, last); None if none does."""
    first = -(-start // length)
    last = min((start + HOUR) // length - 1, first + MAX_WINDOW_INTERVALS - 1)
    return (first, last) if last >= first else None


def posted_for_day(all_deals: Iterable[Deal], account: str, day: tuple[int, int], length: int) -> bool:
    """Whether `account` posted any offer whose window starts on `day`, whatever became of it."""
    return any(d.producer == account and day[0] <= d.first_interval * length < day[1] for d in all_deals)


def offers_to_post(rules: ExchangeConfig, surplus: Iterable[SurplusHour], day: tuple[int, int], current: int,
                   length: int) -> tuple[PlannedOffer, ...]:
    """One offer per hour for the `offer_hours` hours of `day` with the most expected surplus, in time order.

    Together they hold min(offer_max_wh, the chosen hours' surplus), shared in proportion to each
    hour's surplus and rounded down, so no hour offers more than its own forecast surplus.
    """
    earliest = (current + LEAD_INTERVALS) * length
    candidates = [h for h in surplus if day[0] <= h.start < day[1] and h.start >= earliest and h.surplus_wh >= 1
                  and hour_window(h.start, length) is not None]
    best = sorted(candidates, key=lambda h: (-h.surplus_wh, h.start))[:rules.offer_hours]
    total = sum(h.surplus_wh for h in best)
    budget = min(float(rules.offer_max_wh), total)
    out = []
    for hour in sorted(best, key=lambda h: h.start):
        wh = min(int(hour.surplus_wh * budget / total), int(hour.surplus_wh))
        if wh >= 1:
            out.append(PlannedOffer(wh, rules.offer_price_per_kwh, *hour_window(hour.start, length)))
    return tuple(out)


def open_offers(all_deals: Iterable[Deal], account: str, current: int, max_price_per_kwh: int) -> list[Deal]:
    """Neighbours' open offers whose window has not started, at most at the price; cheapest and earliest first."""
    return sorted(
        (d for d in all_deals if d.state == OPEN and d.producer != account and d.first_interval > current
         and d.price_per_kwh <= max_price_per_kwh),
        key=lambda d: (d.price_per_kwh, d.first_interval, d.offer_id),
    )


def battery_candidates(rules: ExchangeConfig, soc_pct: float | None, offers: list[Deal],
                       mine: Iterable[Deal]) -> list[Deal]:
    """Rule 1: while the battery is below the threshold and no deal of ours runs, the offers to try in order."""
    if soc_pct is None or soc_pct >= rules.battery_below_pct:
        return []
    if any(d.state == ACCEPTED for d in mine):
        return []
    return [d for d in offers if d.wh <= rules.max_wh]


def shortage_by_interval(hours: Iterable[SurplusHour], length: int) -> dict[int, float]:
    """Expected import not covered by own production, in Wh per interval (hours with a shortfall only)."""
    out: dict[int, float] = {}
    for hour in hours:
        if hour.surplus_wh >= 0:
            continue
        first, stop = -(-hour.start // length), -(-(hour.start + HOUR) // length)
        for interval in range(first, stop):
            out[interval] = out.get(interval, 0.0) - hour.surplus_wh / (stop - first)
    return out


def uncovered(shortage: dict[int, float], mine: Iterable[Deal], current: int) -> dict[int, float]:
    """The shortage left per interval after this household's running deals deliver what they still owe."""
    left = dict(shortage)
    for deal in sorted((d for d in mine if d.state == ACCEPTED), key=lambda d: (d.first_interval, d.offer_id)):
        _fill(left, max(deal.first_interval, current + 1), deal.last_interval, deal.wh - deal.delivered_wh)
    return left


def shortage_choices(rules: ExchangeConfig, offers: list[Deal], mine: Iterable[Deal], shortage: dict[int, float],
                     current: int, balance: int) -> list[Deal]:
    """Rule 2: the offers to accept, in order, for the forecast shortage of their hours.

    An offer is taken only if its Wh fit in the shortage its window still has uncovered, the Wh
    bought and not yet delivered stay within `max_wh`, and the wallet pays for it.
    """
    mine = list(mine)
    left = uncovered(shortage, mine, current)
    owed = sum(d.wh - d.delivered_wh for d in mine if d.state == ACCEPTED)
    chosen = []
    for offer in offers:
        room = sum(left.get(i, 0.0) for i in range(offer.first_interval, offer.last_interval + 1))
        price = cost(offer.wh, offer.price_per_kwh)
        if offer.wh > room or owed + offer.wh > rules.max_wh or price > balance:
            continue
        _fill(left, offer.first_interval, offer.last_interval, offer.wh)
        owed += offer.wh
        balance -= price
        chosen.append(offer)
    return chosen


def _fill(left: dict[int, float], first: int, last: int, wh: float) -> None:
    """Take `wh` from the shortage of intervals first..last, earliest first."""
    for interval in range(first, last + 1):
        if wh <= 0:
            return
        taken = min(left.get(interval, 0.0), wh)
        if taken > 0:
            left[interval] -= taken
            wh -= taken
