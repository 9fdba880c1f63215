"""Fabricated hourly consumption for the alert tests: a household with a known night pattern."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from typing import Callable
from zoneinfo import ZoneInfo

from node.alerts.anomaly import HourUse

ZONE = ZoneInfo("Europe/Amsterdam")


def at(day: date, hour: int = 0) -> datetime:
    """A local wall-clock time in Amsterdam."""
    return datetime.combine(day, time(hour), ZONE)


def usual_night_wh(start: datetime) -> int:
    """A night hour of a steady household: a baseload of 120–180 W by weekday, 20 Wh more each later hour."""
    baseload = 120 + start.weekday() * 10
    return baseload + 20 * start.hour


def usual_wh(start: datetime) -> int:
    """Night hours as above, 600 Wh in a day hour, 1.5 kWh at dinner time."""
    if start.hour < 6:
        return usual_night_wh(start)
    return 1500 if start.hour in (18, 19) else 600


def hours(first: date, until: datetime, use: Callable[[datetime], int] = usual_wh) -> list[HourUse]:
    """Every complete local hour from `first`'s midnight up to `until`, each using `use(start)` Wh."""
    moment = at(first).astimezone(timezone.utc)
    out = []
    while moment + timedelta(hours=1) <= until:
        start = moment.astimezone(ZONE)
        out.append(HourUse(start, use(start)))
        moment += timedelta(hours=1)
    return out


def write_steady_meter(path, first: datetime, last: datetime, watts: int, skip=lambda ts: False) -> None:
    """Readings every 60 s from `first` to `last` of a meter importing `watts` (except where `skip(ts)`),
    through the node's real MeterStore."""
    from node.store.samples import Sample
    from node.store.store import MeterStore, StoreSettings

    begin, end = int(first.timestamp()), int(last.timestamp())
    with MeterStore(path, StoreSettings(max_clock_skew=None), clock=lambda: end, local=ZONE) as store:
        store.add_samples(
            Sample(ts, "E0001", 1_000_000 + (ts - begin) * watts // 3600, 0, watts, 0)
            for ts in range(begin, end + 1, 60) if not skip(ts)
        )
