"""Figures as an alert states them: energy, power and durations with their units."""

from __future__ import annotations


def kwh(wh: float) -> str:
    """Wh as kWh with up to two decimals: 2400 -> '2.4 kWh'."""
    return f"{_trimmed(wh / 1000)} kWh"


def kwh_range(low_wh: float, high_wh: float) -> str:
    return f"{_trimmed(low_wh / 1000)}–{_trimmed(high_wh / 1000)} kWh"


def watts_range(low_w: float, high_w: float) -> str:
    return f"{low_w:.0f}–{high_w:.0f} W"


def duration(seconds: float) -> str:
    """Whole minutes, hours and days: 8100 -> '2 h 15 min'."""
    minutes = max(0, int(seconds // 60))
    days, minutes = divmod(minutes, 1440)
    hours, minutes = divmod(minutes, 60)
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return f"{minutes} min"


def counted(number: int, noun: str) -> str:
    """'1 night', '3 nights'."""
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


def _trimmed(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".")
