"""The hourly forecast: a decaying profile of each local clock hour, per day type, scaled to the recent
level, with an error band.

For an hour t after the origin o (the start of the current local hour), the profile is

    p_o(t) = Σ w(s)·y(s) / Σ w(s),   w(s) = 2^(−(o − s) / half_life)

over the measured hours s of the last `weeks` weeks before o on the same local clock hour and the
same day type as t (weekday, or Saturday/Sunday); a day type without any such hour uses both.
The forecast is f(t) = L_o · p_o(t): the level L_o is Σ y ÷ Σ p over the hours of the last
`level_days` days, each forecast by the profile as it stood one day earlier (origins o − 1 d, …,
o − level_days d, each over its next 24 h), clipped to [0.5, 2].
The band is f(t) plus the `band_quantiles` of the errors this whole method made, at that clock
hour, in the 24 h after each of the origins o − 1 d, …, o − band_days d. See docs/forecast.md.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, tzinfo

from node.forecast.hours import DAY, HOUR, EnergyHours, HourlyWh

PROFILE, SHORT_HISTORY, NO_HISTORY = "profile", "short history", "no history"
_LEVEL_LIMITS = (0.5, 2.0)


@dataclass(frozen=True)
class ForecastSettings:
    """How much history the forecast reads and how it weighs it."""

    weeks: int = 4
    half_life_days: float = 7.0
    level_days: int = 14
    min_days: int = 7  # with less measured history the forecast falls back (see SHORT_HISTORY)
    band_days: int = 14
    band_quantiles: tuple[float, float] = (0.05, 0.95)
    min_band_errors: int = 5  # fewer past errors at a clock hour: no band for it

    @property
    def history_seconds(self) -> int:
        """How far back the forecast reads: its profile window before the oldest past origin it replays."""
        return (self.weeks * 7 + self.band_days + self.level_days) * DAY


@dataclass(frozen=True)
class HourForecast:
    """Expected Wh in the hour starting at `start` (unix s), and the band, to 0.1 Wh; None where unknown."""

    start: int
    expected_wh: float | None
    low_wh: float | None = None
    high_wh: float | None = None


@dataclass(frozen=True)
class Forecast:
    """The hours after `origin`, how they were forecast (`method`), and that said plainly (`note`)."""

    origin: int
    method: str
    history_days: float  # measured hours in the profile window, in days
    hours: tuple[HourForecast, ...]
    note: str

    def expected(self) -> dict[int, float]:
        """Expected Wh by hour start, for the hours that have one."""
        return {hour.start: hour.expected_wh for hour in self.hours if hour.expected_wh is not None}


@dataclass(frozen=True)
class EnergyForecast:
    consumption: Forecast
    production: Forecast


def forecast_energy(energy: EnergyHours, origin: int, zone: tzinfo, settings: ForecastSettings = ForecastSettings(),
                    hours: int = 24) -> EnergyForecast:
    """Consumption and production forecasts."""
    return EnergyForecast(forecast(energy.consumption, origin, zone, settings, hours),
                          forecast(energy.production, origin, zone, settings, hours))


def forecast(series: HourlyWh, origin: int, zone: tzinfo, settings: ForecastSettings = ForecastSettings(),
             hours: int = 24) -> Forecast:
    """Forecast the `hours` hours from `origin` (an hour start) from the measured hours before it."""
    profile = _Profile(series, origin, zone, settings)
    starts = [origin + index * HOUR for index in range(hours)]
    days = profile.measured_hours(origin) / 24
    if days == 0:
        note = f"No measured hours in the last {settings.weeks} weeks: no forecast yet."
        return Forecast(origin, NO_HISTORY, 0.0, tuple(HourForecast(start, None) for start in starts), note)
    if days < settings.min_days:
        expected = {start: _wh(value) for start, value in profile.at(origin, starts, by_day_type=False).items()}
        note = (f"Only {days:.1f} days of measured history ({settings.min_days} needed for the full method): each hour "
                "is the average of that clock hour so far (recent days weigh more), weekdays and weekends alike, "
                "without a band.")
        return Forecast(origin, SHORT_HISTORY, days,
                        tuple(HourForecast(start, expected[start]) for start in starts), note)
    past = _PastForecasts(profile, origin, settings)
    level = past.level(0)
    band = past.band()
    out = []
    for start, value in profile.at(origin, starts).items():
        value = None if value is None else level * value
        spread = band.get(profile.clock_hour(start))
        if value is None or spread is None:
            out.append(HourForecast(start, _wh(value)))
        else:
            low, high = (_wh(max(0.0, value + error)) for error in spread)
            out.append(HourForecast(start, _wh(value), low, high))
    low, high = (round(q * 100) for q in settings.band_quantiles)
    scaled = f", scaled ×{level:.2f} to the last {settings.level_days} days" if settings.level_days else ""
    note = (f"Profile of the last {settings.weeks} weeks by clock hour and day type ({days:.1f} days measured)"
            f"{scaled}; band: {low}th to {high}th percentile of its errors over the last {settings.band_days} days.")
    return Forecast(origin, PROFILE, days, tuple(out), note)


class _Profile:
    """The measured hours the forecast may read, each with its clock hour and day type worked out once."""

    def __init__(self, series: HourlyWh, origin: int, zone: tzinfo, settings: ForecastSettings):
        self.zone = zone
        self.window = settings.weeks * 7 * DAY
        self.half_life = settings.half_life_days * DAY
        first = origin - settings.history_seconds
        self.samples = sorted(
            (start, *self.key(start), wh) for start, wh in series.items() if first <= start and start + HOUR <= origin
        )
        self.actual = {start: wh for start, _, _, wh in self.samples}

    def key(self, start: int) -> tuple[bool, int]:
        local = datetime.fromtimestamp(start, self.zone)
        return local.weekday() >= 5, local.hour

    def clock_hour(self, start: int) -> int:
        return datetime.fromtimestamp(start, self.zone).hour

    def measured_hours(self, origin: int) -> int:
        return sum(1 for start, *_ in self.samples if origin - self.window <= start and start + HOUR <= origin)

    def at(self, origin: int, starts: list[int], by_day_type: bool = True) -> dict[int, float | None]:
        """p(t) for each t in `starts`, from the hours measured before `origin`."""
        cells: dict[tuple[bool, int], list[float]] = {}
        pooled: dict[int, list[float]] = {}
        for start, weekend, hour, wh in self.samples:
            if start < origin - self.window or start + HOUR > origin:
                continue
            weight = math.pow(2.0, -(origin - start) / self.half_life)
            for sums in (cells.setdefault((weekend, hour), [0.0, 0.0]), pooled.setdefault(hour, [0.0, 0.0])):
                sums[0] += weight * wh
                sums[1] += weight
        out = {}
        for start in starts:
            weekend, hour = self.key(start)
            sums = (cells.get((weekend, hour)) if by_day_type else None) or pooled.get(hour)
            out[start] = sums[0] / sums[1] if sums else None
        return out


class _PastForecasts:
    """The profile replayed from the origins 1, 2, … days before `origin`, each over its next 24 h."""

    def __init__(self, profile: _Profile, origin: int, settings: ForecastSettings):
        self.profile = profile
        self.settings = settings
        self.origins = [origin - days * DAY for days in range(settings.band_days + settings.level_days + 1)]
        # (hour start, profile value, measured value) of the hours after each past origin.
        self.made: list[list[tuple[int, float, float]]] = [[]]
        for past in self.origins[1:]:
            starts = [past + index * HOUR for index in range(24)]
            self.made.append([(start, value, profile.actual[start]) for start, value in profile.at(past, starts).items()
                              if value is not None and start in profile.actual])

    def level(self, days_back: int) -> float:
        """L for the origin `days_back` days before: measured ÷ profile over the `level_days` days before it."""
        pairs = [pair for made in self.made[days_back + 1:days_back + 1 + self.settings.level_days] for pair in made]
        forecast_wh = sum(value for _, value, _ in pairs)
        if not pairs or forecast_wh <= 0:
            return 1.0
        return min(max(sum(actual for _, _, actual in pairs) / forecast_wh, _LEVEL_LIMITS[0]), _LEVEL_LIMITS[1])

    def band(self) -> dict[int, tuple[float, float]]:
        """Clock hour -> (low, high) quantiles of the errors (measured − forecast) at that hour."""
        errors: dict[int, list[float]] = {}
        for days_back in range(1, self.settings.band_days + 1):
            level = self.level(days_back)
            for start, value, actual in self.made[days_back]:
                errors.setdefault(self.profile.clock_hour(start), []).append(actual - level * value)
        low, high = self.settings.band_quantiles
        return {
            hour: (quantile(found, low), quantile(found, high))
            for hour, found in errors.items()
            if len(found) >= self.settings.min_band_errors
        }


def _wh(value: float | None) -> float | None:
    # A tenth of a Wh: meters count whole Wh, and the float noise of the weighted sums stays out.
    return None if value is None else round(value, 1)


def quantile(values: list[float], q: float) -> float:
    """The q-quantile, interpolating linearly between order statistics."""
    ordered = sorted(values)
    position = q * (len(ordered) - 1)
    below = math.floor(position)
    above = min(below + 1, len(ordered) - 1)
    return ordered[below] + (ordered[above] - ordered[below]) * (position - below)
