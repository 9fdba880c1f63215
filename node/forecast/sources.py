"""Forecasts from the node's own data: the household's store and the community's readings on the chain."""

from __future__ import annotations

from datetime import datetime, timezone, tzinfo

from node.forecast.hours import EnergyHours, sum_hours
from node.forecast.model import EnergyForecast, ForecastSettings, forecast_energy
from node.mirror.db import MirrorDB
from node.store.store import MeterStore

HISTORY_SECONDS = ForecastSettings().history_seconds


def household_forecast(store: MeterStore, origin: int, zone: tzinfo, hours: int = 24) -> EnergyForecast:
    """This household's forecast for `hours` hours from `origin` (a local hour start)."""
    energy = household_hours(store, origin - HISTORY_SECONDS, origin, zone)
    return forecast_energy(energy, origin, zone, hours=hours)


def community_forecast(mirror: MirrorDB, origin: int, length: int, zone: tzinfo, hours: int = 24) -> EnergyForecast:
    """The community's forecast for `hours` hours from `origin`; `length` is the chain's interval in seconds."""
    energy = community_hours(mirror, origin - HISTORY_SECONDS, origin, length, zone)
    return forecast_energy(energy, origin, zone, hours=hours)


def household_hours(store: MeterStore, first: int, end: int, zone: tzinfo) -> EnergyHours:
    """This household's grid import and export per hour in [first, end), complete intervals only."""
    intervals = store.interval_energy(_utc(first), _utc(end))
    return sum_hours(
        ((int(i.start.timestamp()), i.import_wh or 0, i.export_wh or 0) for i in intervals if i.complete),
        store.settings.interval,
        zone,
    )


def community_hours(mirror: MirrorDB, first: int, end: int, length: int, zone: tzinfo) -> EnergyHours:
    """All members' import and export per hour in [first, end), from the readings of settled intervals.

    Only settled intervals count: the chain takes no reading for them any more, and a member without
    a reading counts as zero, exactly as the settlement counted it.
    """
    lowest, highest = -(-first // length), end // length - 1
    readings = mirror.interval_sums("ReadingSubmitted", lowest, highest, ("importWh", "exportWh"))
    settled = mirror.interval_sums("IntervalSettled", lowest, highest, ())
    return sum_hours(((interval * length, *readings.get(interval, (0, 0))) for interval in settled), length, zone)


def _utc(ts: int) -> datetime:
    return datetime.fromtimestamp(ts, timezone.utc)
