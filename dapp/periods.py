"""Days and months of the node's calendar as ranges of community intervals, parsed from query strings."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from dapp.errors import BadRequest

DEFAULT_INTERVAL_SECONDS = 900  # the Community's interval length until the node has met the chain
MAX_INTERVAL = 2**32 - 1  # the contract keeps interval numbers in 32 bits
# ASCII digits only: \d and str.isdigit also take "²" or "٣", which int() refuses or reads oddly.
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_MONTH = re.compile(r"[0-9]{4}-[0-9]{2}")
_WHOLE = re.compile(r"[0-9]{1,10}")
# Years a bill can ask for: the chain's interval numbers start in 1970 and end in 32 bits.
FIRST_YEAR, LAST_YEAR = 1970, 2999


@dataclass(frozen=True)
class Day:
    """One local calendar day and the intervals that start in it."""

    day: date
    first: int
    last: int


def parse_day(text: str) -> date:
    if not _DAY.fullmatch(text):
        raise BadRequest(f"date must look like 2026-01-31, got {text[:40]!r}")
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise BadRequest(f"{text} is not a calendar date") from None
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        raise BadRequest(f"date must be between {FIRST_YEAR} and {LAST_YEAR}")
    return day


def parse_month(text: str) -> date:
    """The first day of the month named like 2026-01."""
    if not _MONTH.fullmatch(text):
        raise BadRequest(f"month must look like 2026-01, got {text[:40]!r}")
    year, month = int(text[:4]), int(text[5:])
    if not 1 <= month <= 12:
        raise BadRequest(f"month must be 01 to 12, got {text[5:]}")
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise BadRequest(f"month must be between {FIRST_YEAR} and {LAST_YEAR}")
    return date(year, month, 1)


def parse_interval(text: str) -> int:
    if not _WHOLE.fullmatch(text) or int(text) > MAX_INTERVAL:
        raise BadRequest(f"interval must be a whole number from 0 to {MAX_INTERVAL}, got {text[:40]!r}")
    return int(text)


def today(now: float, zone: ZoneInfo) -> date:
    return datetime.fromtimestamp(now, timezone.utc).astimezone(zone).date()


def day_range(day: date, zone: ZoneInfo, length: int) -> Day:
    """Intervals from local midnight to the next (92 or 100 of 15 minutes on the days clocks change)."""
    start = datetime.combine(day, time(), zone).timestamp()
    end = datetime.combine(day + timedelta(days=1), time(), zone).timestamp()
    return Day(day, int(start) // length, int(end) // length - 1)


def month_days(first: date, zone: ZoneInfo, length: int) -> list[Day]:
    days, day = [], first
    while day.month == first.month:
        days.append(day_range(day, zone, length))
        day += timedelta(days=1)
    return days


def next_month(first: date) -> date:
    return date(first.year + first.month // 12, first.month % 12 + 1, 1)


def previous_month(first: date) -> date:
    return (first - timedelta(days=1)).replace(day=1)


def interval_seconds(services) -> int:
    """The Community's interval length, as the node's outbox learnt it from the chain."""
    with services.outbox() as outbox:
        return outbox.interval_length or DEFAULT_INTERVAL_SECONDS
