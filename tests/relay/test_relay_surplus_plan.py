"""The surplus rule's forecast plan: a flexible load runs in the hours of the next 24 h with the most
expected community surplus, from the rule to the pin and from the node's mirror to the relay."""

from __future__ import annotations

import sys
import tomllib
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from node.mirror.db import MirrorDB
from node.relay import ExpectedSurplus, RelayConfigError, RelaySettings, Signals, SurplusRule, relays_from_dict
from node.runtime.relays import RelayController
from node.store.store import MeterStore

sys.path.insert(0, str(Path(__file__).parents[1] / "forecast"))

from forecastkit import write_chain  # noqa: E402

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
MIDNIGHT = datetime(2024, 6, 3, tzinfo=AMSTERDAM)
# Expected community surplus by clock hour: a sunny day with its best hours at noon.
SUNNY = {9: 100, 10: 800, 11: 1200, 12: 1200, 13: 900, 14: 300}
DOCS = Path(__file__).parents[2] / "docs" / "relays.md"


def day_forecast(surplus_by_hour: dict[int, float], first: datetime = MIDNIGHT) -> tuple[ExpectedSurplus, ...]:
    """24 hours from `first`, with -400 Wh (the community imports) outside the given hours."""
    hours = [first + timedelta(hours=index) for index in range(24)]
    return tuple(ExpectedSurplus(start, start + timedelta(hours=1), surplus_by_hour.get(start.hour, -400.0))
                 for start in hours)


def decide(rule: SurplusRule, at: datetime, forecast, on: bool = False):
    return rule.decide(on, Signals(at, surplus_forecast=forecast))


def test_the_load_runs_in_the_best_hours_and_waits_outside_them():
    rule = SurplusRule(plan="forecast", run_hours=3)
    forecast = day_forecast(SUNNY)

    states = [decide(rule, MIDNIGHT + timedelta(hours=hour, minutes=30), forecast).on for hour in range(24)]

    assert [hour for hour, on in enumerate(states) if on] == [11, 12, 13]


def test_the_reasons_say_which_hour_is_planned_and_what_is_expected():
    rule = SurplusRule(plan="forecast", run_hours=3)
    forecast = day_forecast(SUNNY)

    running = decide(rule, MIDNIGHT.replace(hour=11, minute=15), forecast)
    waiting = decide(rule, MIDNIGHT.replace(hour=10, minute=15), forecast, on=True)

    assert (running.on, running.reason) == (
        True, "planned hour 11:00-12:00: 1200 Wh community surplus expected, one of the 3 best hours of the next 24 h")
    assert (waiting.on, waiting.reason) == (
        False, "outside the planned hours 11:00-14:00 (the 3 best hours of the next 24 h for surplus)")


def test_an_equal_surplus_goes_to_the_earlier_hour():
    rule = SurplusRule(plan="forecast", run_hours=1)
    forecast = day_forecast({11: 1000, 15: 1000})

    assert [decide(rule, MIDNIGHT.replace(hour=hour), forecast).on for hour in (11, 15)] == [True, False]


def test_only_hours_with_surplus_are_planned_even_if_fewer_than_asked():
    rule = SurplusRule(plan="forecast", run_hours=4)
    forecast = day_forecast({12: 50, 13: 0})

    states = [decide(rule, MIDNIGHT.replace(hour=hour), forecast).on for hour in range(24)]

    assert [hour for hour, on in enumerate(states) if on] == [12]
    assert decide(rule, MIDNIGHT.replace(hour=13), forecast).reason == (
        "outside the planned hours 12:00-13:00 (the 1 best hour of the next 24 h for surplus)")


def test_a_cloudy_day_without_any_expected_surplus_keeps_the_load_off():
    decision = decide(SurplusRule(plan="forecast"), MIDNIGHT.replace(hour=12), day_forecast({}), on=True)

    assert (decision.on, decision.reason) == (False, "no community surplus expected in the next 24 h")


def test_without_a_forecast_the_relay_keeps_its_state_and_says_what_is_missing():
    decision = decide(SurplusRule(plan="forecast"), MIDNIGHT.replace(hour=12), None, on=True)

    assert (decision.on, decision.missing) == (True, "no community surplus forecast")


def test_a_planned_relay_switches_its_pin_in_the_planned_hours(open_relay, clock, signals, factory):
    # The relay fixtures' clock starts on Monday 3 June 2024 08:00 UTC, 10:00 in Amsterdam.
    relay = open_relay(RelaySettings("dishwasher", 23, SurplusRule(plan="forecast", run_hours=2), min_on_s=0,
                                     min_off_s=0))
    forecast = day_forecast(SUNNY)
    levels = []
    for _ in range(8):  # 10:30, 11:00, ... 14:00 in Amsterdam
        clock.advance(1800)
        relay.update(signals(surplus_forecast=forecast))
        levels.append(factory.pin(23).state)

    assert levels == [0, 1, 1, 1, 1, 0, 0, 0]


def test_the_documented_planned_relay_reads_into_settings():
    text = DOCS.read_text()
    planned = tomllib.loads(text.split("```toml\n")[2].split("```", 1)[0])

    assert relays_from_dict(planned["relays"]) == (
        RelaySettings("dishwasher", 23, SurplusRule(plan="forecast", run_hours=2), min_on_s=600, min_off_s=600),)


@pytest.mark.parametrize(("table", "message"), [
    ({"plan": "weather"}, "relays.boiler.plan: must be one of live, forecast, not 'weather'"),
    ({"plan": "forecast", "run_hours": 0}, "relays.boiler.run_hours: must be a whole number of hours from 1 to 24, not 0"),
    ({"plan": "forecast", "run_hours": 2.5}, "relays.boiler.run_hours: must be a whole number, not 2.5"),
    ({"plan": "forecast", "on_above_w": 800},
     'relays.boiler.on_above_w: not used with plan = "forecast" (only with plan = "live")'),
    ({"run_hours": 3}, 'relays.boiler.run_hours: not used with plan = "live" (only with plan = "forecast")'),
])
def test_plan_settings_are_checked_and_name_the_key(table, message):
    with pytest.raises(RelayConfigError) as refused:
        relays_from_dict({"boiler": {"pin": 27, "rule": "surplus", **table}})

    assert str(refused.value) == message


# -- the node's relay part: the plan comes from the community's settled readings ----------------------------

def test_the_node_plans_the_load_from_the_communitys_forecast(tmp_path, open_bank, clock, factory):
    # Eight days of settled readings: one member uses 100 Wh a quarter hour, the other exports 400 Wh a quarter
    # hour from 11:00 to 13:00 in Amsterdam, so 1200 Wh of surplus is expected at 11:00 and at 12:00.
    now = clock.now()
    first = int((now - timedelta(days=8)).timestamp()) // 900
    readings = {}
    for interval in range(first, int(now.timestamp()) // 900):
        sunny = 11 <= datetime.fromtimestamp(interval * 900, AMSTERDAM).hour < 13
        readings[interval] = {1: (100, 0), 2: (0, 400 if sunny else 0)}
    write_chain(tmp_path / "mirror.sqlite", readings, settled=sorted(readings))
    bank = open_bank(RelaySettings("dishwasher", 23, SurplusRule(plan="forecast", run_hours=3), min_on_s=0,
                                   min_off_s=0))
    controller = RelayController(bank, MeterStore(tmp_path / "meter.sqlite", local=AMSTERDAM),
                                 MirrorDB(tmp_path / "mirror.sqlite"), lambda: clock.now().timestamp(), zone=AMSTERDAM)
    levels, reasons = [], []
    for _ in range(4):  # 10:00, 11:00, 12:00, 13:00 in Amsterdam
        controller.step()
        levels.append(factory.pin(23).state)
        reasons.append(bank.status()[0].reason)
        clock.advance(3600)
    controller.close()

    assert levels == [0, 1, 1, 0]
    assert reasons[1] == ("planned hour 11:00-12:00: 1200 Wh community surplus expected, one of the 2 best hours of "
                          "the next 24 h")
