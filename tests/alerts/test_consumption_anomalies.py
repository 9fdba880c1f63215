"""Consumption anomalies judged on fabricated hourly series with a known usual range.

The fabricated household (alertkit) has a night baseload of 120 W on Mondays up to 180 W on Sundays,
so four weeks of history hold each of 120, 130, ..., 180 W four times: the usual range is 120–180 W.
"""

from __future__ import annotations

from datetime import date

from alertkit import at, hours, usual_wh

from node.alerts.alert import BASELOAD_UP, NIGHT_SPIKE, WARNING, Verdict
from node.alerts.anomaly import baseload_verdict, consumption_verdict

HISTORY_FROM = date(2025, 12, 9)  # a Tuesday: four whole weeks before Tuesday 6 January
TUESDAY, WEDNESDAY = date(2026, 1, 6), date(2026, 1, 7)


def test_baseload_raised_for_two_nights_is_an_alert_since_the_first_raised_night():
    def heater_left_on(start):
        return 410 + 20 * start.hour if start.date() >= TUESDAY and start.hour < 6 else usual_wh(start)

    verdict = consumption_verdict(hours(HISTORY_FROM, at(WEDNESDAY, 9), heater_left_on), at(WEDNESDAY, 9))

    assert [alert.kind for alert in verdict.alerts] == [BASELOAD_UP]  # its high night hours are no second alert
    alert = verdict.alerts[0]
    assert (alert.severity, alert.title, alert.seen, alert.expected) == (
        WARNING, "Baseload up", "night-time baseload 410 W", "120–180 W")
    assert alert.since == at(TUESDAY, 0).timestamp()
    assert verdict.not_judged == ()


def test_one_raised_night_is_not_yet_a_baseload_alert():
    def one_warm_night(start):
        return 410 + 20 * start.hour if start.date() == WEDNESDAY and start.hour < 6 else usual_wh(start)

    verdict = baseload_verdict(hours(HISTORY_FROM, at(WEDNESDAY, 9), one_warm_night), at(WEDNESDAY, 9))

    assert verdict == Verdict()


def test_a_night_hour_far_above_the_same_hour_of_past_nights_is_a_spike():
    def kettle_of_a_sauna(start):
        return 2400 if start == at(WEDNESDAY, 2) else usual_wh(start)

    verdict = consumption_verdict(hours(HISTORY_FROM, at(WEDNESDAY, 9), kettle_of_a_sauna), at(WEDNESDAY, 9))

    assert [alert.kind for alert in verdict.alerts] == [NIGHT_SPIKE]
    alert = verdict.alerts[0]
    # 02:00–03:00 usually uses the baseload plus 40 Wh: 160–220 Wh.
    assert (alert.title, alert.seen, alert.expected) == ("Night-time spike", "02:00–03:00 used 2.4 kWh", "0.16–0.22 kWh")
    assert alert.since == at(WEDNESDAY, 2).timestamp()


def test_several_spiking_hours_make_one_alert_naming_the_worst():
    def restless_night(start):
        return {at(WEDNESDAY, 1): 900, at(WEDNESDAY, 3): 3100}.get(start, usual_wh(start))

    verdict = consumption_verdict(hours(HISTORY_FROM, at(WEDNESDAY, 9), restless_night), at(WEDNESDAY, 9))

    assert [alert.seen for alert in verdict.alerts] == [
        "03:00–04:00 used 3.1 kWh, and 1 more night hour far above the usual"]
    assert verdict.alerts[0].since == at(WEDNESDAY, 1).timestamp()


def test_five_ordinary_weeks_raise_nothing_and_leave_nothing_unjudged():
    until = at(date(2026, 1, 13), 9)

    verdict = consumption_verdict(hours(HISTORY_FROM, until), until)

    assert verdict == Verdict()


def test_short_history_raises_nothing_and_says_how_much_more_it_needs():
    def spike(start):
        return 2400 if start == at(WEDNESDAY, 2) else usual_wh(start)

    verdict = consumption_verdict(hours(date(2026, 1, 5), at(WEDNESDAY, 9), spike), at(WEDNESDAY, 9))

    assert verdict == Verdict(not_judged=(
        "Baseload: 1 night of history, 7 needed before judging.",
        "Night-time use: 1 night of history, 7 needed before judging.",
    ))


def test_a_store_that_stopped_days_ago_is_not_judged_and_says_so():
    verdict = consumption_verdict(hours(HISTORY_FROM, at(date(2026, 1, 3), 9)), at(WEDNESDAY, 9))

    assert verdict == Verdict(not_judged=(
        "Baseload: the store has no complete night since yesterday.",
        "Night-time use: the store has no complete night hour in the last 24 h.",
    ))
