"""The Forecast page and its JSON: the next 24 h with their likely range, the past 24 h measured beside their
forecast, the community's forecast and the hours it recommends."""

from __future__ import annotations

from datetime import datetime

import pytest
from energykit import INTERVAL, ME, NEIGHBOUR, ZONE, community, local, write_meter

FIRST = local(2026, 3, 2)  # a Monday: ten days and ten hours of history before node time
NOW = local(2026, 3, 12, 10, 20)  # Thursday, 10:20 in Amsterdam
NEXT_HOURS = [(10 + index) % 24 for index in range(24)]  # the forecast runs from 10:00 to 09:00 tomorrow
PAST_HOURS = NEXT_HOURS  # and the past 24 h from 10:00 yesterday to 09:00 today


def hour(ts: int) -> int:
    return datetime.fromtimestamp(ts, ZONE).hour


def import_w(ts: int) -> int:
    return 720 if 18 <= hour(ts) < 22 else 360


def export_w(ts: int) -> int:
    return 1440 if 10 <= hour(ts) < 14 else 0


def household(node_config, clock, days: float) -> None:
    """360 W from the grid, 720 W in the evening (18:00-22:00), 1440 W to the grid from 10:00 to 14:00."""
    write_meter(node_config, clock, int(NOW - days * 86400) // 3600 * 3600, NOW, import_w, export_w)


def chain(node_config) -> None:
    """Every interval up to 10:00 settled: this node's readings as measured, the neighbour exporting 500 Wh a
    quarter hour from 11:00 to 13:00."""
    events = community()
    for interval in range(FIRST // INTERVAL, local(2026, 3, 12, 10) // INTERVAL):
        start = interval * INTERVAL
        events.reading(interval, ME, import_w(start) // 4, export_w(start) // 4)
        events.reading(interval, NEIGHBOUR, 0, 500 if 11 <= hour(start) < 13 else 0)
        events.settled(interval, {}, 0)
    events.write(node_config)


@pytest.fixture
def ten_days(node_config, clock):
    clock.now = NOW
    household(node_config, clock, (NOW - FIRST) / 86400)
    chain(node_config)


def forecast(client) -> dict:
    response = client.get("/forecast/api/forecast")
    assert response.status_code == 200
    return response.get_json()


# -- access ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/forecast/", "/forecast/api/forecast"])
def test_forecast_routes_send_a_visitor_to_the_login_page(client, path):
    response = client.get(path)

    assert (response.status_code, response.headers["Location"]) == (302, f"/auth/login?next={path}")


def test_the_json_api_tells_a_visitor_to_log_in(client):
    response = client.get("/forecast/api/forecast", headers={"Accept": "application/json"})

    assert (response.status_code, response.get_json()) == (401, {"error": "log in first"})


# -- figures --------------------------------------------------------------------------------------

def test_a_steady_household_is_forecast_hour_by_hour_with_a_range_of_zero_width(client, auth, ten_days):
    auth.login()

    data = forecast(client)

    consumption = [720.0 if 18 <= h < 22 else 360.0 for h in NEXT_HOURS]
    production = [1440.0 if 10 <= h < 14 else 0.0 for h in NEXT_HOURS]
    assert data["labels"] == [f"{h:02d}:00" for h in NEXT_HOURS]
    assert data["origin"] == local(2026, 3, 12, 10)
    assert (data["mine"]["consumption"]["method"], data["mine"]["production"]["method"]) == ("profile", "profile")
    assert (data["mine"]["consumption"]["expected"], data["mine"]["consumption"]["low"],
            data["mine"]["consumption"]["high"]) == (consumption, consumption, consumption)
    assert (data["mine"]["production"]["expected"], data["mine"]["production"]["high"]) == (production, production)


def test_the_past_24_hours_show_what_was_measured_beside_what_was_forecast_for_them(client, auth, ten_days):
    auth.login()

    past = forecast(client)["past"]

    consumption = [720 if 18 <= h < 22 else 360 for h in PAST_HOURS]
    production = [1440 if 10 <= h < 14 else 0 for h in PAST_HOURS]
    assert past["labels"] == [f"{h:02d}:00" for h in PAST_HOURS]
    assert past["measured"] == {"consumption": consumption, "production": production}
    assert past["forecast"] == {"consumption": consumption, "production": production}


def test_the_community_forecast_recommends_the_hours_with_expected_surplus(client, auth, ten_days):
    auth.login()

    data = forecast(client)

    # The community uses what this household imports; it produces this household's 1440 Wh from 10:00 to 14:00
    # and the neighbour's 2000 Wh from 11:00 to 13:00.
    production = [1440.0 * (10 <= h < 14) + 2000.0 * (11 <= h < 13) for h in NEXT_HOURS]
    use = [720.0 if 18 <= h < 22 else 360.0 for h in NEXT_HOURS]
    assert data["community"]["production"]["expected"] == production
    assert data["community"]["consumption"]["expected"] == use
    assert data["community"]["surplus_wh"] == [p - u for p, u in zip(production, use)]
    assert data["recommended"] == [{"start": local(2026, 3, 12, 10), "end": local(2026, 3, 12, 14), "from": "10:00",
                                    "until": "14:00", "surplus_wh": 1080.0 + 3080.0 + 3080.0 + 1080.0}]
    assert data["advice"] == ("Run your dishwasher, washing machine or EV charger between 10:00 and 14:00, when the "
                              "community expects surplus.")


def test_the_page_states_the_advice_and_shows_every_hour_without_javascript(client, auth, ten_days):
    auth.login()

    page = client.get("/forecast/").get_data(as_text=True)

    assert "Run your dishwasher, washing machine or EV charger between 10:00 and 14:00" in page
    assert "<strong>10:00–14:00</strong>: 8.32 kWh of community surplus expected" in page
    assert '<td class="num">720 Wh</td><td class="num range">720 Wh – 720 Wh</td>' in page
    assert page.count('<tr class="surplus">') == 4
    assert 'href="/forecast/" aria-current="page">Forecast</a>' in page
    assert "notice" not in page


def test_a_few_days_of_history_give_an_average_without_a_range_and_the_page_says_so(client, auth, node_config, clock):
    clock.now = NOW
    household(node_config, clock, 3)
    auth.login()

    data = forecast(client)
    page = client.get("/forecast/").get_data(as_text=True)

    mine = data["mine"]["consumption"]
    assert (mine["method"], mine["low"], mine["high"]) == ("short history", [None] * 24, [None] * 24)
    assert mine["expected"] == [720.0 if 18 <= h < 22 else 360.0 for h in NEXT_HOURS]
    assert ('<p class="notice">Your consumption: Only 3.0 days of measured history (7 needed for the full method): '
            "each hour is the average of that clock hour so far") in page
    assert ('<p class="notice">The community&#39;s forecast: No measured hours in the last 4 weeks: no forecast yet.'
            "</p>") in page
    assert data["recommended"] == []
    assert data["advice"] == "No community surplus is expected in the next 24 hours: no hour is better than another."


def test_forecasts_are_made_once_an_hour_while_the_measured_hours_stay_current(client, auth, node_config, clock):
    clock.now = NOW
    # The node was off from 09:00: readings up to then, the rest arrives later (a backfill) at 3600 W.
    write_meter(node_config, clock, FIRST, local(2026, 3, 12, 9), import_w, export_w)
    auth.login()
    before = forecast(client)

    nine = local(2026, 3, 12, 9)
    write_meter(node_config, clock, nine, NOW, lambda ts: 3600 if ts >= nine else import_w(ts), export_w, origin=FIRST)
    clock.now = local(2026, 3, 12, 10, 50)
    same_hour = forecast(client)
    clock.now = local(2026, 3, 12, 11, 5)
    next_hour = forecast(client)

    assert before["past"]["measured"]["consumption"][-1] is None
    assert same_hour["past"]["measured"]["consumption"][-1] == 3600
    assert same_hour["mine"] == before["mine"]
    assert next_hour["labels"][0] == "11:00"
    assert next_hour["mine"]["consumption"]["expected"][22] > 360.0  # tomorrow 09:00 learned the backfilled hour
