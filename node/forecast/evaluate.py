"""Forecast error by rolling-origin backtest, beside the seasonal-naive baselines.

Each day of the test period is forecast at its local midnight from the data before it, hour by
hour until the next midnight. The baselines forecast each hour as the same clock hour one day
earlier and one week earlier. All three are scored on the same hours: those with a measured
value and a forecast from every method.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta, tzinfo
from typing import Iterable

from node.forecast.hours import HOUR, HourlyWh, days_earlier
from node.forecast.model import ForecastSettings, forecast
from node.store.calendar import local_midnight

MAPE_FLOOR_WH = 50.0  # MAPE counts only hours with at least this much measured


@dataclass(frozen=True)
class Scores:
    """Error sums over `hours` hours; MAPE over the `mape_hours` of them with at least MAPE_FLOOR_WH measured."""

    hours: int = 0
    error_wh: float = 0.0  # Σ |forecast − measured|
    measured_wh: float = 0.0
    relative_error: float = 0.0  # Σ |forecast − measured| ÷ measured, over the MAPE hours
    mape_hours: int = 0

    @classmethod
    def of(cls, pairs: Iterable[tuple[float, float]]) -> "Scores":
        """Scores of (forecast, measured) pairs."""
        pairs = list(pairs)
        relative = [abs(f - a) / a for f, a in pairs if a >= MAPE_FLOOR_WH]
        errors = sum(abs(f - a) for f, a in pairs)
        return cls(len(pairs), errors, sum(a for _, a in pairs), sum(relative), len(relative))

    def __add__(self, other: "Scores") -> "Scores":
        """Both sets of hours pooled (several households, several runs)."""
        return Scores(self.hours + other.hours, self.error_wh + other.error_wh, self.measured_wh + other.measured_wh,
                      self.relative_error + other.relative_error, self.mape_hours + other.mape_hours)

    @property
    def mae_wh(self) -> float | None:
        return self.error_wh / self.hours if self.hours else None

    @property
    def mape_pct(self) -> float | None:
        return 100 * self.relative_error / self.mape_hours if self.mape_hours else None

    @property
    def wape_pct(self) -> float | None:
        """Σ|error| ÷ Σ measured."""
        return 100 * self.error_wh / self.measured_wh if self.measured_wh > 0 else None


@dataclass(frozen=True)
class Backtest:
    """The model's and the baselines' scores over the same hours, and how often the band held the actual."""

    first_day: date
    last_day: date
    model: Scores
    same_hour_yesterday: Scores
    same_hour_last_week: Scores
    band_hours: int  # hours that had a band
    in_band: int  # ... and whose actual lay within it

    def ratio(self, baseline: Scores) -> float | None:
        """Model MAE ÷ baseline MAE: below 1 the model is better."""
        return mae_ratio(self.model, baseline)

    @property
    def band_coverage_pct(self) -> float | None:
        return 100 * self.in_band / self.band_hours if self.band_hours else None


def backtest(series: HourlyWh, first_day: date, last_day: date, zone: tzinfo,
             settings: ForecastSettings = ForecastSettings()) -> Backtest:
    """Forecast each local day from `first_day` to `last_day` at its midnight and score it."""
    model, yesterday, last_week = [], [], []
    band_hours = in_band = 0
    day = first_day
    while day <= last_day:
        origin = local_midnight(day, zone)
        hours = (local_midnight(day + timedelta(days=1), zone) - origin) // HOUR
        for hour in forecast(series, origin, zone, settings, hours).hours:
            actual = series.get(hour.start)
            naive = [series.get(days_earlier(hour.start, days, zone)) for days in (1, 7)]
            if actual is None or hour.expected_wh is None or None in naive:
                continue
            model.append((hour.expected_wh, actual))
            yesterday.append((naive[0], actual))
            last_week.append((naive[1], actual))
            if hour.low_wh is not None:
                band_hours += 1
                in_band += hour.low_wh <= actual <= hour.high_wh
        day += timedelta(days=1)
    return Backtest(first_day, last_day, Scores.of(model), Scores.of(yesterday), Scores.of(last_week), band_hours,
                    in_band)


def mae_ratio(model: Scores, baseline: Scores) -> float | None:
    """Model MAE ÷ baseline MAE (None when either is unknown or the baseline is perfect)."""
    if model.mae_wh is None or not baseline.mae_wh:
        return None
    return model.mae_wh / baseline.mae_wh
