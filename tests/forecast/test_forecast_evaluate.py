"""Forecast error: MAE, MAPE and WAPE, and the rolling-origin backtest against seasonal-naive baselines."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from forecastkit import ZONE, hourly

from node.forecast.evaluate import Scores, backtest

FIRST = date(2024, 6, 3)


def test_scores_define_mape_over_hours_with_at_least_fifty_wh_and_wape_over_all():
    pairs = [(110.0, 100.0), (90.0, 100.0), (5.0, 0.0), (40.0, 20.0)]  # (forecast, measured)

    scores = Scores.of(pairs)

    assert (scores.hours, scores.mae_wh, scores.mape_hours) == (4, 11.25, 2)
    assert (scores.mape_pct, scores.wape_pct) == (pytest.approx(10.0), pytest.approx(100 * 45 / 220))


def test_scores_of_nothing_measured_are_not_available_rather_than_zero():
    scores = Scores.of([(0.0, 0.0), (10.0, 0.0)])

    assert (scores.mae_wh, scores.mape_pct, scores.wape_pct) == (5.0, None, None)


def test_pooled_scores_weigh_every_hour_alike():
    pooled = Scores.of([(110.0, 100.0)]) + Scores.of([(0.0, 300.0), (300.0, 300.0)])

    assert (pooled.hours, pooled.mae_wh) == (3, pytest.approx(310 / 3))
    assert (pooled.mape_pct, pooled.wape_pct) == (pytest.approx(100 * 1.1 / 3), pytest.approx(100 * 310 / 700))


def test_an_odd_day_before_misleads_the_same_hour_yesterday_baseline_by_exactly_its_excess():
    odd_day = FIRST + timedelta(days=52)  # a Thursday: the Friday after is forecast from weekdays
    series = hourly(FIRST, 54, lambda moment: 600.0 if moment.date() == odd_day else 300.0)
    day = odd_day + timedelta(days=1)

    result = backtest(series, day, day, ZONE)

    assert (result.model.hours, result.same_hour_yesterday.hours, result.same_hour_last_week.hours) == (24, 24, 24)
    assert (result.same_hour_yesterday.mae_wh, result.same_hour_last_week.mae_wh) == (300.0, 0.0)
    assert 0 < result.model.mae_wh < 300.0
    assert result.ratio(result.same_hour_yesterday) == result.model.mae_wh / 300.0
    assert result.ratio(result.same_hour_last_week) is None  # a perfect baseline: no ratio to speak of


def test_the_backtest_scores_only_hours_every_method_could_forecast():
    # Day 50 is missing at 08:00: the next day's 08:00 has no "yesterday", the day after's "last week" neither.
    gap = FIRST + timedelta(days=50)
    series = hourly(FIRST, 60, lambda moment: None if (moment.date(), moment.hour) == (gap, 8) else 300.0)

    result = backtest(series, gap + timedelta(days=1), gap + timedelta(days=7), ZONE)

    assert (result.first_day, result.last_day) == (gap + timedelta(days=1), gap + timedelta(days=7))
    assert result.model.hours == 7 * 24 - 2
    assert (result.band_hours, result.in_band) == (166, 166)
    assert result.band_coverage_pct == 100.0
