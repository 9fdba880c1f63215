"""Expected community surplus per hour, and the hours to recommend for flexible loads."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, tzinfo

from node.forecast.hours import HOUR
from node.forecast.model import EnergyForecast


@dataclass(frozen=True)
class SurplusHour:
    """Expected production minus consumption in the hour starting at `start` (unix s), in Wh."""

    start: int
    surplus_wh: float


@dataclass(frozen=True)
class SurplusWindow:
    """Consecutive hours with expected surplus, [start, end), and their total surplus in Wh."""

    start: int
    end: int
    surplus_wh: float


def expected_surplus(forecast: EnergyForecast) -> tuple[SurplusHour, ...]:
    """The hours where both production and consumption have an expected value."""
    production, consumption = forecast.production.expected(), forecast.consumption.expected()
    return tuple(
        SurplusHour(hour.start, production[hour.start] - consumption[hour.start])
        for hour in forecast.production.hours
        if hour.start in production and hour.start in consumption
    )


def surplus_windows(hours: tuple[SurplusHour, ...]) -> tuple[SurplusWindow, ...]:
    """Runs of consecutive hours with expected surplus above zero, in time order."""
    windows: list[SurplusWindow] = []
    for hour in hours:
        if hour.surplus_wh <= 0:
            continue
        last = windows[-1] if windows else None
        if last is not None and last.end == hour.start:
            windows[-1] = SurplusWindow(last.start, hour.start + HOUR, last.surplus_wh + hour.surplus_wh)
        else:
            windows.append(SurplusWindow(hour.start, hour.start + HOUR, hour.surplus_wh))
    return tuple(windows)


def recommendation(windows: tuple[SurplusWindow, ...], zone: tzinfo) -> str:
    """The windows as advice a household can follow."""
    if not windows:
        return "No community surplus is expected in the next 24 hours: no hour is better than another."
    spans = " or ".join(f"between {_clock(w.start, zone)} and {_clock(w.end, zone)}" for w in windows)
    return f"Run your dishwasher, washing machine or EV charger {spans}, when the community expects surplus."


def _clock(ts: int, zone: tzinfo) -> str:
    return datetime.fromtimestamp(ts, zone).strftime("%H:%M")
