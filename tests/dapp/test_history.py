"""The History page and its series API: energy per quarter hour, day or month, with the community's share."""

from __future__ import annotations

import pytest
from energykit import ADDRESS, ME, NEIGHBOUR, NEIGHBOUR_ADDRESS, community, local, write_meter

from node.mirror.db import MirrorDB

MONDAY = local(2026, 3, 2)
NOON = local(2026, 3, 2, 12) // 900  # Monday 12:00, the first of three settled intervals
TUESDAY_1AM = local(2026, 3, 3, 1) // 900


@pytest.fixture
def week_data(node_config, clock):
    """Monday 2 March 2026 00:00 to Tuesday 06:00: 360 W import throughout (90 Wh a quarter hour),
    720 W export from 10:00 to 14:00 (180 Wh), no reading between 03:00 and 03:10 on Monday.
    Node time: Wednesday 12:00. Settled: Monday 12:00, 12:15, 12:30 (no longer a producer then) and
    Tuesday 01:00."""
    clock.now = local(2026, 3, 4, 12)
    exporting = range(local(2026, 3, 2, 10), local(2026, 3, 2, 14))
    write_meter(node_config, clock, MONDAY, local(2026, 3, 3, 6),
                import_w=lambda ts: 360, export_w=lambda ts: 720 if ts in exporting else 0,
                skip=range(local(2026, 3, 2, 3) + 10, local(2026, 3, 2, 3, 10)))
    events = community()
    events.block().reading(NOON, ME, 90, 180).settled(NOON, {ME: 40, NEIGHBOUR: 160}, 300)
    events.block().reading(NOON + 1, ME, 90, 180).settled(NOON + 1, {ME: 50, NEIGHBOUR: 40}, 360)
    events.block().profile(ME, producer=False).reading(NOON + 2, ME, 90, 180)
    events.settled(NOON + 2, {ME: 10, NEIGHBOUR: 90}, 120)
    events.block().reading(TUESDAY_1AM, ME, 90, 0).settled(TUESDAY_1AM, {ME: 30}, 30)
    events.write(node_config)


def series(client, **query):
    response = client.get("/history/api/series", query_string=query)
    assert response.status_code == 200
    return response.get_json()


# -- access and input ---------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/history/", "/history/api/series?period=week"])
def test_history_routes_send_a_visitor_to_the_login_page(client, path):
    response = client.get(path)

    assert response.status_code == 302
    assert response.headers["Location"].startswith("/auth/login")


BAD_QUERIES = [
    ({"period": "decade"}, "period must be one of day, week, month, year"),
    ({"period": ""}, "period must be one of day, week, month, year"),
    ({"date": "yesterday"}, "date must be YYYY-MM-DD, a real day such as 2026-03-29"),
    ({"date": "2026-3-29"}, "date must be YYYY-MM-DD, a real day such as 2026-03-29"),
    ({"date": "2026-02-30"}, "date must be YYYY-MM-DD, a real day such as 2026-03-29"),
    ({"date": "２０２６-03-29"}, "date must be YYYY-MM-DD, a real day such as 2026-03-29"),
    ({"period": "year", "date": "0001-01-01"}, "date must be between 1971-01-01 and 9998-12-31"),
]


@pytest.mark.parametrize(("query", "message"), BAD_QUERIES)
def test_series_refuses_a_bad_period_or_date_with_a_json_message(client, auth, query, message):
    auth.login()

    response = client.get("/history/api/series", query_string=query)

    assert response.status_code == 400
    assert response.get_json() == {"error": message}


@pytest.mark.parametrize(("query", "message"), BAD_QUERIES[:3])
def test_page_refuses_a_bad_period_or_date_with_a_400_page(client, auth, query, message):
    auth.login()

    response = client.get("/history/", query_string=query)

    assert response.status_code == 400
    assert message in response.get_data(as_text=True)


# -- the series ---------------------------------------------------------------------------------

def test_day_series_has_every_quarter_hour_with_the_communitys_share(client, auth, week_data):
    auth.login()

    day = series(client, period="day", date="2026-03-02")

    assert len(day["labels"]) == 96
    assert (day["labels"][0], day["labels"][12], day["labels"][95]) == ("00:00", "03:00", "23:45")
    assert day["import_wh"] == [90] * 96
    assert day["export_wh"] == [0] * 40 + [180] * 16 + [0] * 40
    assert day["allocated_wh"][47:52] == [0, 40, 50, 10, 0]
    # ceil(200 × 180 / 300) and ceil(90 × 180 / 360); none at 12:30, when it was no longer a producer.
    assert day["sold_to_community_wh"][47:52] == [0, 120, 45, 0, 0]
    assert day["missing_intervals"] == [0] * 12 + [1] + [0] * 83
    assert day["totals"] == {
        "import_wh": 8640, "export_wh": 2880, "allocated_wh": 100, "sold_to_community_wh": 165,
        "from_deals_wh": 0, "to_deals_wh": 0,
        "complete_intervals": 95, "expected_intervals": 96, "elapsed_intervals": 96, "missing_intervals": 1,
    }
    assert (day["period"], day["date"], day["first_day"], day["last_day"]) == ("day", "2026-03-02", "2026-03-02",
                                                                              "2026-03-02")


def test_day_series_shows_unmeasured_quarter_hours_as_null(client, auth, week_data):
    auth.login()

    day = series(client, period="day", date="2026-03-03")

    assert day["import_wh"] == [90] * 24 + [None] * 72
    assert day["allocated_wh"][4] == 30
    assert day["totals"]["missing_intervals"] == 72


def test_week_series_sums_each_day_from_the_stores_aggregate(client, auth, week_data):
    auth.login()

    week = series(client, period="week", date="2026-03-04")

    assert week["labels"] == ["Mon 2", "Tue 3", "Wed 4", "Thu 5", "Fri 6", "Sat 7", "Sun 8"]
    assert week["import_wh"] == [8640, 2160, 0, 0, 0, 0, 0]
    assert week["export_wh"] == [2880, 0, 0, 0, 0, 0, 0]
    assert week["allocated_wh"] == [100, 30, 0, 0, 0, 0, 0]
    assert week["sold_to_community_wh"] == [165, 0, 0, 0, 0, 0, 0]
    assert week["complete_intervals"] == [95, 24, 0, 0, 0, 0, 0]
    assert week["expected_intervals"] == [96] * 7
    assert week["missing_intervals"] == [1, 72, 48, 0, 0, 0, 0]  # node time is Wednesday noon
    assert week["totals"] == {
        "import_wh": 10800, "export_wh": 2880, "allocated_wh": 130, "sold_to_community_wh": 165,
        "from_deals_wh": 0, "to_deals_wh": 0,
        "complete_intervals": 119, "expected_intervals": 672, "elapsed_intervals": 240, "missing_intervals": 121,
    }
    assert (week["first_day"], week["last_day"]) == ("2026-03-02", "2026-03-08")


def test_month_series_has_a_day_per_slot_and_the_short_dst_day(client, auth, week_data):
    auth.login()

    month = series(client, period="month", date="2026-03-15")

    assert month["labels"] == [str(day) for day in range(1, 32)]
    assert month["import_wh"][:4] == [0, 8640, 2160, 0]
    assert month["expected_intervals"][28] == 92  # clocks go forward on 29 March
    assert month["totals"]["expected_intervals"] == 31 * 96 - 4
    assert (month["totals"]["import_wh"], month["totals"]["allocated_wh"]) == (10800, 130)


def test_year_series_has_a_month_per_slot(client, auth, week_data):
    auth.login()

    year = series(client, period="year", date="2026-03-15")

    assert year["labels"] == ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
    assert year["import_wh"] == [0, 0, 10800] + [0] * 9
    assert year["sold_to_community_wh"] == [0, 0, 165] + [0] * 9
    assert year["totals"]["expected_intervals"] == 365 * 96


def test_spring_dst_day_has_92_quarter_hours(client, auth):
    auth.login()

    day = series(client, period="day", date="2026-03-29")

    assert len(day["labels"]) == 92
    assert day["labels"][7:9] == ["01:45", "03:00"]
    assert day["totals"]["expected_intervals"] == 92


def test_autumn_dst_day_has_100_quarter_hours_and_names_the_repeated_hour(client, auth):
    auth.login()

    day = series(client, period="day", date="2026-10-25")

    assert len(day["labels"]) == 100
    assert day["labels"][8:17] == ["02:00 CEST", "02:15 CEST", "02:30 CEST", "02:45 CEST",
                                   "02:00 CET", "02:15 CET", "02:30 CET", "02:45 CET", "03:00"]


def test_series_defaults_to_today_in_node_time(client, auth, clock):
    clock.now = local(2026, 7, 1, 0, 30)  # still 30 June in UTC
    auth.login()

    day = series(client)

    assert (day["period"], day["date"]) == ("day", "2026-07-01")


def test_series_of_a_member_not_yet_in_the_mirror_has_no_community_energy(client, auth, node_config, clock):
    clock.now = local(2026, 3, 2, 1)
    write_meter(node_config, clock, MONDAY - 60, clock.now, import_w=lambda ts: 360, export_w=lambda ts: 0)
    auth.login()

    day = series(client, period="day", date="2026-03-02")

    assert day["totals"]["import_wh"] == 360
    assert day["totals"]["allocated_wh"] == 0


def test_series_follows_new_readings_and_settlements(client, auth, node_config, clock):
    def meter(first, last):
        write_meter(node_config, clock, first, last, import_w=lambda ts: 360, export_w=lambda ts: 0, origin=MONDAY)

    clock.now = local(2026, 3, 2, 1)
    meter(MONDAY, clock.now)
    events = community()
    events.block().reading(MONDAY // 900, ME, 90, 0).settled(MONDAY // 900, {ME: 20}, 20)
    events.write(node_config)
    auth.login()
    before = series(client, period="week", date="2026-03-02")["totals"]
    clock.now = local(2026, 3, 2, 2)
    meter(local(2026, 3, 2, 1) + 10, clock.now)
    events.block().reading(MONDAY // 900 + 1, ME, 90, 0).settled(MONDAY // 900 + 1, {ME: 25}, 25)
    events.write(node_config)

    after = series(client, period="week", date="2026-03-02")["totals"]

    assert (before["import_wh"], before["allocated_wh"]) == (360, 20)
    assert (after["import_wh"], after["allocated_wh"]) == (720, 45)


def test_series_forgets_settlements_a_chain_reorganisation_undid(client, auth, node_config, week_data):
    auth.login()
    before = series(client, period="week", date="2026-03-02")["totals"]["allocated_wh"]
    mirror = MirrorDB(node_config.mirror_path)
    mirror.rewind(6)  # the last two settlements (10 and 30 Wh) were in blocks 7 and 9
    mirror.close()

    after = series(client, period="week", date="2026-03-02")["totals"]["allocated_wh"]

    assert (before, after) == (130, 90)


# -- the page -----------------------------------------------------------------------------------

def test_page_shows_totals_table_and_incomplete_quarter_hour(client, auth, week_data):
    auth.login()

    page = client.get("/history/?period=day&date=2026-03-02").get_data(as_text=True)

    assert '<p class="figure import">8.64 kWh</p>' in page
    assert '<p class="figure export">2.88 kWh</p>' in page
    assert '<p class="figure">100 Wh</p>' in page
    assert '<p class="figure">165 Wh</p>' in page
    assert "Incomplete: 1 of 96 quarter hours that have ended" in page
    assert page.count("<tr class=\"incomplete\">") == 1
    assert "incomplete: 1 of 1 missing" in page
    assert "95 of 96 quarter hours measured" in page
    assert 'data-series="/history/api/series?period=day&amp;date=2026-03-02"' in page
    assert '<script src="/vendor/chart.js" defer></script>' in page


@pytest.mark.parametrize(("query", "previous", "following"), [
    ("period=day&date=2026-03-01", "period=day&amp;date=2026-02-28", "period=day&amp;date=2026-03-02"),
    ("period=week&date=2026-03-04", "period=week&amp;date=2026-02-25", "period=week&amp;date=2026-03-11"),
    ("period=month&date=2026-01-31", "period=month&amp;date=2025-12-01", "period=month&amp;date=2026-02-01"),
    ("period=year&date=2026-03-04", "period=year&amp;date=2025-01-01", "period=year&amp;date=2027-01-01"),
])
def test_page_links_to_the_previous_and_next_period(client, auth, query, previous, following):
    auth.login()

    page = client.get(f"/history/?{query}").get_data(as_text=True)

    assert f'<a href="/history/?{previous}" rel="prev">' in page
    assert f'<a href="/history/?{following}" rel="next">' in page


def test_page_tabs_keep_the_date_and_mark_the_period_shown(client, auth):
    auth.login()

    page = client.get("/history/?period=month&date=2026-03-04").get_data(as_text=True)

    assert '<a href="/history/?period=week&amp;date=2026-03-04" >Week</a>' in page
    assert '<a href="/history/?period=month&amp;date=2026-03-04" aria-current="page">Month</a>' in page


def test_page_of_a_future_day_says_it_has_not_started(client, auth):
    auth.login()

    page = client.get("/history/?period=day&date=2027-01-01").get_data(as_text=True)

    assert "This day has not started yet: pick an earlier one." in page
    assert "not yet" in page


def test_deal_energy_is_its_own_series_and_never_also_from_the_community(client, auth, node_config, clock):
    clock.now = local(2026, 3, 2, 1)
    write_meter(node_config, clock, MONDAY, clock.now, import_w=lambda ts: 360, export_w=lambda ts: 0)
    first = MONDAY // 900
    events = community()
    # 60 of the 90 Wh came through a deal with the neighbour; the key covered 20 of the other 30.
    events.block().reading(first, ME, 90, 0).delivered(first, NEIGHBOUR_ADDRESS, ADDRESS, 60)
    events.settled(first, {ME: 20}, 20)
    events.write(node_config)
    auth.login()

    day = series(client, period="day", date="2026-03-02")
    page = client.get("/history/?period=day&date=2026-03-02").get_data(as_text=True)

    assert (day["from_deals_wh"][0], day["allocated_wh"][0], day["to_deals_wh"][0]) == (60, 20, 0)
    assert (day["totals"]["from_deals_wh"], day["totals"]["allocated_wh"]) == (60, 20)
    assert "Through your deals" in page
