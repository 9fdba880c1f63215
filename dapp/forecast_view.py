"""What the Forecast page shows: the household's and the community's next 24 h, the household's past
24 h measured beside what was forecast for them, and the hours with expected community surplus.

The forecasts change only when the hour does, so they are built once per local hour (`Forecasts`);
the past 24 h measured are read afresh, as intervals keep closing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, tzinfo

from node.forecast.hours import DAY, HOUR, EnergyHours
from node.forecast.model import EnergyForecast, Forecast
from node.forecast.sources import community_forecast, household_forecast, household_hours
from node.forecast.surplus import SurplusHour, SurplusWindow, expected_surplus, recommendation, surplus_windows
from node.mirror.db import MirrorDB
from node.store.store import MeterStore


@dataclass(frozen=True)
class Forecasts:
    """Everything of one hour's page that depends only on the hour: the forecasts and the advice."""

    origin: int
    mine: EnergyForecast  # the 24 h from origin
    made_yesterday: EnergyForecast  # the 24 h before origin, as forecast at their start
    community: EnergyForecast
    surplus: tuple[SurplusHour, ...]
    windows: tuple[SurplusWindow, ...]
    advice: str


def forecasts(store: MeterStore, mirror: MirrorDB, origin: int, length: int, zone: tzinfo) -> Forecasts:
    """The forecasts from `origin` (a local hour start); `length` is the community's interval in seconds."""
    community = community_forecast(mirror, origin, length, zone)
    surplus = expected_surplus(community)
    windows = surplus_windows(surplus)
    return Forecasts(origin, household_forecast(store, origin, zone), household_forecast(store, origin - DAY, zone),
                     community, surplus, windows, recommendation(windows, zone))


def as_json(made: Forecasts, measured: EnergyHours, zone: tzinfo) -> dict:
    """The page's figures for its charts and the JSON API; Wh per hour, None where unknown."""
    past = [made.origin - DAY + index * HOUR for index in range(24)]
    surplus = {hour.start: round(hour.surplus_wh, 1) for hour in made.surplus}
    return {
        "origin": made.origin,
        "unit": "Wh",
        "labels": [_clock(hour.start, zone) for hour in made.mine.consumption.hours],
        "mine": {"consumption": _series(made.mine.consumption), "production": _series(made.mine.production)},
        "past": {
            "labels": [_clock(start, zone) for start in past],
            "measured": {"consumption": [measured.consumption.get(start) for start in past],
                         "production": [measured.production.get(start) for start in past]},
            "forecast": {"consumption": _at(made.made_yesterday.consumption, past),
                         "production": _at(made.made_yesterday.production, past)},
        },
        "community": {"consumption": _series(made.community.consumption),
                      "production": _series(made.community.production),
                      "surplus_wh": [surplus.get(hour.start) for hour in made.community.production.hours]},
        "recommended": [{"start": w.start, "end": w.end, "from": _clock(w.start, zone), "until": _clock(w.end, zone),
                         "surplus_wh": round(w.surplus_wh, 1)} for w in made.windows],
        "advice": made.advice,
    }


def measured_day(store: MeterStore, origin: int, zone: tzinfo) -> EnergyHours:
    """The household's measured hours in the 24 h before `origin`."""
    return household_hours(store, origin - DAY, origin, zone)


def _series(forecast: Forecast) -> dict:
    return {
        "method": forecast.method,
        "note": forecast.note,
        "expected": [hour.expected_wh for hour in forecast.hours],
        "low": [hour.low_wh for hour in forecast.hours],
        "high": [hour.high_wh for hour in forecast.hours],
    }


def _at(forecast: Forecast, starts: list[int]) -> list[float | None]:
    expected = forecast.expected()
    return [expected.get(start) for start in starts]


def _clock(ts: int, zone: tzinfo) -> str:
    return datetime.fromtimestamp(ts, zone).strftime("%H:%M")
