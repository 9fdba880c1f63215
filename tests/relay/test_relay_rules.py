"""Surplus hysteresis, peer exchanges and schedules (across midnight and DST)."""

from __future__ import annotations

from datetime import datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from node.relay import (
    BatteryRule,
    Exchange,
    ExchangeRule,
    RelaySettings,
    ScheduleRule,
    ScheduleWindow,
    Signals,
    SurplusRule,
)

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
FRIDAY, SATURDAY = 4, 5
NOON = datetime(2024, 6, 3, 10, 0, tzinfo=timezone.utc)


def run(rule, sequence, on=False, **fixed):
    """The states a rule goes through when fed `sequence` of signal values, one after another."""
    states = []
    for values in sequence:
        on = rule.decide(on, Signals(**{"now": NOON, **fixed, **values})).on
        states.append(on)
    return states


# -- surplus -------------------------------------------------------------------------------


def test_surplus_switches_on_above_and_off_below_its_thresholds_only():
    rule = SurplusRule(on_above_w=500, off_below_w=100)
    surplus = [0, 500, 501, 300, 100, 99, 300, 600]

    states = run(rule, [{"community_surplus_w": watts} for watts in surplus])

    assert states == [False, False, True, True, True, False, False, True]


def test_a_flexible_load_does_not_switch_itself_off_by_eating_the_surplus():
    rule = SurplusRule(on_above_w=500, off_below_w=100, load_w=2000)
    # 2.5 kW surplus; once the 2 kW load runs only 500 W remain measured, then clouds come.
    measured = [2500, 500, 50, -1950]

    states = run(rule, [{"community_surplus_w": watts} for watts in measured])

    assert states == [True, True, True, False]


def test_surplus_reasons_show_the_figure_with_the_load_added_back():
    rule = SurplusRule(on_above_w=500, off_below_w=100, load_w=2000)

    decision = rule.decide(True, Signals(NOON, community_surplus_w=50))

    assert decision.reason == "community surplus 2050 W (50 W measured + 2000 W of this load), above 500 W"


def test_surplus_unknown_keeps_the_state_and_names_what_is_missing():
    decision = SurplusRule().decide(True, Signals(NOON, community_surplus_w=None))

    assert (decision.on, decision.missing) == (True, "no community surplus figure")


def test_surplus_relay_follows_the_community_export_on_the_pin(open_relay, clock, signals, factory):
    relay = open_relay(RelaySettings("boiler", 27, SurplusRule(on_above_w=500, off_below_w=100), min_on_s=120, min_off_s=60))
    levels = []
    for watts in (800, 50, 50, 300, 900, 300, 99):
        clock.advance(60)
        relay.update(signals(community_surplus_w=watts))
        levels.append(factory.pin(27).state)

    # On at 60 s; the drop at 120 s waits for the 120 s minimum on time; on again at 300 s,
    # between the thresholds at 360 s, off at 420 s exactly when the minimum on time is up.
    assert levels == [True, True, False, False, True, True, False]


# -- exchange ------------------------------------------------------------------------------


def exchange(role="consumer", delivered_wh=0.0, **overrides) -> Exchange:
    fields = dict(
        id="7", role=role, peer="Sunny Roof", starts_at=NOON, ends_at=NOON + timedelta(hours=1),
        agreed_wh=2000.0, delivered_wh=delivered_wh,
    )
    return Exchange(**{**fields, **overrides})


@pytest.mark.parametrize(
    ("minutes", "delivered_wh", "expected"),
    [
        (-1, 0, (False, "no exchange running as consumer")),
        (0, 0, (True, "exchange 7 with Sunny Roof as consumer: 0 of 2000 Wh, until 2024-06-03T11:00+00:00")),
        (30, 1999.5, (True, "exchange 7 with Sunny Roof as consumer: 1999.5 of 2000 Wh, until 2024-06-03T11:00+00:00")),
        (30, 2000, (False, "exchange 7 with Sunny Roof delivered its 2000 Wh")),
        (60, 1500, (False, "exchange 7 with Sunny Roof window ended at 2024-06-03T11:00+00:00")),
    ],
)
def test_the_consumer_takes_the_peer_source_while_an_exchange_runs(minutes, delivered_wh, expected):
    now = NOON + timedelta(minutes=minutes)

    decision = ExchangeRule("consumer").decide(False, Signals(now, exchanges=(exchange(delivered_wh=delivered_wh),)))

    assert (decision.on, decision.reason) == expected


def test_the_producer_connects_its_supply_and_the_consumer_side_does_not_react():
    signals = Signals(NOON + timedelta(minutes=5), exchanges=(exchange(role="producer", peer="Corner Bakery"),))

    producer = ExchangeRule("producer").decide(False, signals)
    consumer = ExchangeRule("consumer").decide(False, signals)

    assert (producer.on, consumer.on) == (True, False)


def test_both_sides_switch_back_when_the_exchange_is_delivered(open_bank, clock, signals, factory):
    bank = open_bank(
        RelaySettings("peer-in", 17, ExchangeRule("consumer"), min_on_s=0, min_off_s=0),
        RelaySettings("peer-out", 27, ExchangeRule("producer"), min_on_s=0, min_off_s=0),
    )
    # In the demo both sides live on one node; each node sees the exchange from its own side.
    start = clock.now()
    deal = dict(starts_at=start, ends_at=start + timedelta(hours=1), agreed_wh=500.0)
    levels = []
    for delivered in (0, 250, 500):
        clock.advance(60)
        bank.update(signals(exchanges=(exchange("consumer", delivered, **deal), exchange("producer", delivered, **deal))))
        levels.append((factory.pin(17).state, factory.pin(27).state))

    assert levels == [(True, True), (True, True), (False, False)]


def test_unknown_exchanges_keep_the_state():
    decision = ExchangeRule("producer").decide(True, Signals(NOON, exchanges=None))

    assert (decision.on, decision.missing) == (True, "exchanges unknown (chain unreachable)")


# -- schedule ------------------------------------------------------------------------------


def local(*fields) -> Signals:
    """Signals at a local Amsterdam time, handed over in UTC as the runtime would."""
    return Signals(datetime(*fields, tzinfo=AMSTERDAM).astimezone(timezone.utc))


def minutes_on(rule: ScheduleRule, start_utc: datetime, hours: int) -> int:
    """How many minutes of real time the rule says on, from `start_utc`."""
    return sum(
        rule.decide(False, Signals(start_utc + timedelta(minutes=minute))).on for minute in range(hours * 60)
    )


OVERNIGHT = ScheduleRule(windows=(ScheduleWindow(frozenset({FRIDAY}), time(22, 0), time(6, 0)),), timezone=AMSTERDAM)


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        ((2024, 6, 6, 23, 0), False),  # Thursday night: Thursday is not a start day
        ((2024, 6, 7, 21, 59), False),
        ((2024, 6, 7, 22, 0), True),
        ((2024, 6, 8, 0, 30), True),  # after midnight, it is Saturday: the window started Friday
        ((2024, 6, 8, 5, 59), True),
        ((2024, 6, 8, 6, 0), False),
        ((2024, 6, 8, 23, 0), False),  # Saturday night is not Friday night
        ((2024, 6, 9, 1, 0), False),
    ],
)
def test_an_overnight_window_belongs_to_the_day_it_starts(moment, expected):
    assert OVERNIGHT.decide(False, local(*moment)).on == expected


def test_schedule_reasons_name_the_window():
    decision = OVERNIGHT.decide(False, local(2024, 6, 8, 1, 0))

    assert decision.reason == "scheduled fri 22:00-06:00"


def test_a_window_in_the_skipped_spring_hour_does_not_happen_that_night():
    # 31 March 2024: Amsterdam clocks jump from 02:00 to 03:00.
    rule = ScheduleRule(windows=(ScheduleWindow(frozenset(range(7)), time(2, 0), time(3, 0)),), timezone=AMSTERDAM)

    night_before = minutes_on(rule, datetime(2024, 3, 29, 23, 0, tzinfo=timezone.utc), 24)
    change_night = minutes_on(rule, datetime(2024, 3, 30, 23, 0, tzinfo=timezone.utc), 24)

    assert (night_before, change_night) == (60, 0)


def test_a_window_in_the_repeated_autumn_hour_lasts_two_hours():
    # 27 October 2024: Amsterdam clocks go back from 03:00 to 02:00.
    rule = ScheduleRule(windows=(ScheduleWindow(frozenset(range(7)), time(2, 0), time(3, 0)),), timezone=AMSTERDAM)

    change_night = minutes_on(rule, datetime(2024, 10, 26, 22, 0, tzinfo=timezone.utc), 24)

    assert change_night == 120


@pytest.mark.parametrize(
    ("night_start_utc", "expected_minutes"),
    [
        (datetime(2024, 3, 30, 18, 0, tzinfo=timezone.utc), 7 * 60),  # 22:00-06:00 loses an hour in spring
        (datetime(2024, 10, 26, 18, 0, tzinfo=timezone.utc), 9 * 60),  # and gains one in autumn
    ],
)
def test_an_overnight_window_follows_the_wall_clock_across_dst(night_start_utc, expected_minutes):
    rule = ScheduleRule(windows=(ScheduleWindow(frozenset({SATURDAY}), time(22, 0), time(6, 0)),), timezone=AMSTERDAM)

    assert minutes_on(rule, night_start_utc, 16) == expected_minutes


def test_a_scheduled_relay_switches_at_the_window_edges(open_relay, clock, factory):
    rule = ScheduleRule(windows=(ScheduleWindow(frozenset({0}), time(10, 15), time(10, 45)),), timezone=AMSTERDAM)
    relay = open_relay(RelaySettings("washer", 23, rule))  # the clock starts Monday 10:00 in Amsterdam
    switched = []
    for _ in range(60):
        clock.advance(60)
        for event in relay.update(Signals(clock.now())):
            switched.append((clock.now().astimezone(AMSTERDAM).strftime("%H:%M"), event.on))

    assert switched == [("10:15", True), ("10:45", False)]
    assert factory.pin(23).state is False


# -- reasons -------------------------------------------------------------------------------


def test_a_state_of_charge_just_under_the_threshold_is_not_rounded_onto_it():
    decision = BatteryRule(low_pct=20, high_pct=80).decide(False, Signals(NOON, battery_soc_pct=19.96))

    assert decision.reason == "battery at 19.96%, below 20%: community source"


def test_a_state_of_charge_that_is_not_a_number_counts_as_missing():
    decision = BatteryRule().decide(True, Signals(NOON, battery_soc_pct=float("nan")))

    assert (decision.on, decision.missing) == (True, "no state-of-charge reading")
