"""Local clock hours: where an hour starts, and interval energy summed into fully measured hours."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import Iterable, Mapping

HOUR = 3600
DAY = 86400

HourlyWh = Mapping[int, float]  # Wh per hour, keyed by the hour's start (unix s)


@dataclass(frozen=True)
class EnergyHours:
    """Measured Wh per local hour: consumption (grid import) and production (grid export).

    An hour is present only when every interval in it was measured.
    """

    consumption: HourlyWh
    production: HourlyWh


def hour_start(moment: float, zone: tzinfo) -> int:
    """Unix time of the start of the local clock hour containing `moment`."""
    ts = int(moment // 1)
    local = datetime.fromtimestamp(ts, zone)
    return ts - local.minute * 60 - local.second


def days_earlier(start: int, days: int, zone: tzinfo) -> int | None:
    """The same local clock hour `days` calendar days before the hour starting at `start`; None
    when that day skipped this hour (the spring-forward night)."""
    local = datetime.fromtimestamp(start, zone)
    earlier = (local.replace(tzinfo=None) - timedelta(days=days)).replace(tzinfo=zone, fold=local.fold)
    ts = int(earlier.timestamp())
    return ts if datetime.fromtimestamp(ts, zone).hour == local.hour else None


def sum_hours(intervals: Iterable[tuple[int, float, float]], length: int, zone: tzinfo) -> EnergyHours:
    """Hourly totals of measured intervals given as (start, import Wh, export Wh).

    Hours missing any of their intervals are left out: a partial hour would read as a low one.
    """
    per_hour = HOUR // length
    totals: dict[int, list[float]] = {}
    for start, imported, exported in intervals:
        row = totals.setdefault(hour_start(start, zone), [0.0, 0.0, 0])
        row[0] += imported
        row[1] += exported
        row[2] += 1
    full = {hour: row for hour, row in totals.items() if row[2] == per_hour}
    return EnergyHours(
        consumption={hour: row[0] for hour, row in full.items()},
        production={hour: row[1] for hour, row in full.items()},
    )
