"""Expected community surplus, its windows, and the advice the DApp gives."""

from __future__ import annotations

from datetime import datetime

from forecastkit import ZONE

from node.forecast.model import PROFILE, EnergyForecast, Forecast, HourForecast
from node.forecast.surplus import SurplusHour, SurplusWindow, expected_surplus, recommendation, surplus_windows

NINE = int(datetime(2024, 6, 3, 9, tzinfo=ZONE).timestamp())


def made(values: list[float | None]) -> Forecast:
    return Forecast(NINE, PROFILE, 42.0, tuple(HourForecast(NINE + i * 3600, v) for i, v in enumerate(values)), "")


def test_expected_surplus_is_production_minus_consumption_where_both_are_known():
    energy = EnergyForecast(consumption=made([500, 500, None, 400]), production=made([200, 900, 1000, 400]))

    assert expected_surplus(energy) == (SurplusHour(NINE, -300), SurplusHour(NINE + 3600, 400),
                                        SurplusHour(NINE + 3 * 3600, 0))


def test_consecutive_surplus_hours_form_one_window_with_their_total():
    hours = tuple(SurplusHour(NINE + i * 3600, wh) for i, wh in enumerate([-5, 100, 250, 0, 30, 40, -1]))

    assert surplus_windows(hours) == (SurplusWindow(NINE + 3600, NINE + 3 * 3600, 350),
                                      SurplusWindow(NINE + 4 * 3600, NINE + 6 * 3600, 70))


def test_the_advice_names_the_windows_in_local_time():
    windows = (SurplusWindow(NINE + 2 * 3600, NINE + 6 * 3600, 4000),
               SurplusWindow(NINE + 7 * 3600, NINE + 8 * 3600, 10))

    assert recommendation(windows, ZONE) == ("Run your dishwasher, washing machine or EV charger between 11:00 and "
                                             "15:00 or between 16:00 and 17:00, when the community expects surplus.")
    assert recommendation((), ZONE) == ("No community surplus is expected in the next 24 hours: no hour is better "
                                        "than another.")
