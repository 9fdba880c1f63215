"""The hourly forecast: a decaying profile by clock hour and day type, its level, band and fallbacks."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from forecastkit import ZONE, hourly

from node.forecast.hours import days_earlier, hour_start
from node.forecast.model import (
    NO_HISTORY,
    PROFILE,
    SHORT_HISTORY,
    ForecastSettings,
    forecast,
    quantile,
)
from node.store.calendar import local_midnight

MONDAY = date(2024, 6, 3)
ORIGIN_DAY = MONDAY + timedelta(weeks=8)  # a Monday after eight weeks of history
ORIGIN = local_midnight(ORIGIN_DAY, ZONE)


def clock_hours(result) -> list[int]:
    return [datetime.fromtimestamp(hour.start, ZONE).hour for hour in result.hours]


def test_a_steady_household_is_forecast_exactly_with_a_band_of_zero_width():
    series = hourly(MONDAY, 56, lambda moment: 300.0)

    result = forecast(series, ORIGIN, ZONE)

    assert result.method == PROFILE
    assert [(h.expected_wh, h.low_wh, h.high_wh) for h in result.hours] == [(300.0, 300.0, 300.0)] * 24
    assert [h.start for h in result.hours] == [ORIGIN + index * 3600 for index in range(24)]


def test_weekends_are_forecast_from_weekends_and_weekdays_from_weekdays():
    series = hourly(MONDAY, 54, lambda moment: 600.0 if moment.weekday() >= 5 else 300.0 + moment.hour)
    saturday = local_midnight(ORIGIN_DAY - timedelta(days=2), ZONE)  # the history ends on the Friday before

    result = forecast(series, saturday, ZONE, hours=48)

    assert [h.expected_wh for h in result.hours] == [600.0] * 48
    friday = forecast(series, saturday - 86400, ZONE)
    assert [h.expected_wh for h in friday.hours] == [300.0 + hour for hour in range(24)]


def test_the_profile_is_the_last_four_weeks_weighed_by_half_every_seven_days():
    # Every hour of day d holds 100 + d Wh: the forecast is the weekdays' decayed mean, the same at every hour.
    series = hourly(MONDAY, 56, lambda moment: 100.0 + (moment.date() - MONDAY).days)

    result = forecast(series, ORIGIN, ZONE, ForecastSettings(level_days=0))  # the profile alone

    weekdays = [MONDAY + timedelta(days=d) for d in range(28, 56) if (MONDAY + timedelta(days=d)).weekday() < 5]
    for hour in result.hours:
        clock = datetime.fromtimestamp(hour.start, ZONE).hour
        samples = [(day, local_midnight(day, ZONE) + clock * 3600) for day in weekdays]
        weights = [2 ** (-(ORIGIN - start) / (7 * 86400)) for _, start in samples]
        values = [100.0 + (day - MONDAY).days for day, _ in samples]
        expected = sum(w * v for w, v in zip(weights, values)) / sum(weights)
        assert hour.expected_wh == round(expected, 1)


def test_a_jump_in_use_scales_the_profile_by_at_most_two():
    # 100 Wh an hour, then 3000 Wh for the last eight days: the level is about 3 and is clipped.
    series = hourly(MONDAY, 56, lambda moment: 3000.0 if (moment.date() - MONDAY).days >= 48 else 100.0)
    unscaled = ForecastSettings(level_days=0)

    scaled = forecast(series, ORIGIN, ZONE)
    profile = forecast(series, ORIGIN, ZONE, unscaled)

    assert [h.expected_wh for h in scaled.hours] == pytest.approx([2 * h.expected_wh for h in profile.hours], rel=1e-3)
    assert "scaled ×2.00 to the last 14 days" in scaled.note


def test_missing_hours_are_left_out_rather_than_counted_as_zero():
    series = hourly(MONDAY, 56, lambda moment: None if moment.hour == 3 and moment.day % 2 else 300.0)

    result = forecast(series, ORIGIN, ZONE)

    assert [h.expected_wh for h in result.hours] == [300.0] * 24


def test_less_than_a_week_of_history_falls_back_to_the_average_of_each_clock_hour_and_says_so():
    first = ORIGIN_DAY - timedelta(days=3)
    series = hourly(first, 3, lambda moment: 200.0 + 10 * moment.hour)

    result = forecast(series, ORIGIN, ZONE)

    assert (result.method, result.history_days) == (SHORT_HISTORY, 3.0)
    assert [h.expected_wh for h in result.hours] == [200.0 + 10 * hour for hour in range(24)]
    assert {(h.low_wh, h.high_wh) for h in result.hours} == {(None, None)}
    assert result.note == (
        "Only 3.0 days of measured history (7 needed for the full method): each hour is the average of that clock "
        "hour so far (recent days weigh more), weekdays and weekends alike, without a band."
    )


def test_without_history_in_the_window_there_is_no_forecast_and_the_note_says_why():
    series = hourly(MONDAY, 7, lambda moment: 300.0)  # seven weeks before the origin: outside the four-week window

    result = forecast(series, ORIGIN, ZONE)

    assert (result.method, result.note) == (NO_HISTORY, "No measured hours in the last 4 weeks: no forecast yet.")
    assert [h.expected_wh for h in result.hours] == [None] * 24


def test_the_autumn_night_forecasts_its_repeated_hour_from_that_clock_hour():
    autumn = date(2024, 10, 27)  # 02:00-03:00 happens twice in Amsterdam
    series = hourly(autumn - timedelta(days=56), 56, lambda moment: 100.0 * (moment.hour + 1))
    origin = local_midnight(autumn, ZONE)

    result = forecast(series, origin, ZONE, hours=25)

    assert clock_hours(result) == [0, 1, 2, 2] + list(range(3, 24))
    assert [h.expected_wh for h in result.hours] == [100.0 * (hour + 1) for hour in clock_hours(result)]


def test_the_spring_night_has_no_two_o_clock_and_no_baseline_for_it_a_day_later():
    spring = date(2024, 3, 31)
    origin = local_midnight(spring, ZONE)
    series = hourly(spring - timedelta(days=56), 56, lambda moment: 100.0 * (moment.hour + 1))

    result = forecast(series, origin, ZONE, hours=23)

    assert clock_hours(result) == [0, 1] + list(range(3, 24))
    assert [h.expected_wh for h in result.hours] == [100.0 * (hour + 1) for hour in clock_hours(result)]
    two_next_day = local_midnight(spring + timedelta(days=1), ZONE) + 2 * 3600
    assert days_earlier(two_next_day, 1, ZONE) is None


def test_the_band_is_the_quantiles_of_past_errors_at_that_clock_hour():
    # At noon even days hold 200 Wh and odd days 400 Wh; other hours are steady.
    series = hourly(MONDAY, 56, lambda moment: 300.0 if moment.hour != 12 else 200.0 if moment.day % 2 == 0 else 400.0)
    settings = ForecastSettings(level_days=0, half_life_days=1e9)  # equal weights: the profile is a plain mean

    noon = forecast(series, ORIGIN, ZONE, settings).hours[12]

    def kind(start: int) -> tuple[int, bool]:
        moment = datetime.fromtimestamp(start, ZONE)
        return moment.hour, moment.weekday() >= 5

    def mean_before(origin: int, target: int) -> float:
        window = range(origin - 28 * 86400, origin)
        known = [v for start, v in series.items() if start in window and kind(start) == kind(target)]
        return sum(known) / len(known)

    past_origins = [ORIGIN - days_back * 86400 for days_back in range(1, 15)]
    errors = [series[past + 12 * 3600] - mean_before(past, past + 12 * 3600) for past in past_origins]
    mean = mean_before(ORIGIN, ORIGIN + 12 * 3600)
    assert (noon.low_wh, noon.expected_wh, noon.high_wh) == (
        round(mean + quantile(errors, 0.05), 1), round(mean, 1), round(mean + quantile(errors, 0.95), 1))


def test_quantiles_interpolate_between_ordered_values():
    assert [quantile([4.0, 1.0, 3.0, 2.0], q) for q in (0.0, 0.1, 0.5, 1.0)] == [1.0, 1.3, 2.5, 4.0]


def test_hours_start_on_the_local_clock_hour():
    moment = datetime(2024, 10, 27, 2, 40, 5, tzinfo=ZONE).replace(fold=1).timestamp()

    assert hour_start(moment, ZONE) == int(datetime(2024, 10, 27, 2, tzinfo=ZONE).replace(fold=1).timestamp())
