"""The battery rule driven through discharge and charge cycles on gpiozero's MockFactory."""

from __future__ import annotations

from node.relay import BatteryRule, RelaySettings, SimulatedBattery

MINUTE = 60.0


def battery_relay(**overrides) -> RelaySettings:
    settings = dict(name="battery", pin=17, rule=BatteryRule(low_pct=20, high_pct=80), min_on_s=60, min_off_s=60)
    return RelaySettings(**{**settings, **overrides})


def test_simulated_battery_cycles_between_the_thresholds_with_exact_switch_times(open_relay, clock, sink, signals, factory):
    # 6 kWh battery at 50%; the house draws 3.6 kW (1%/min) on the battery, and the battery
    # charges at 7.2 kW (2%/min) from the community while the relay has the house on it.
    battery = SimulatedBattery(capacity_wh=6000, soc_pct=50, max_charge_w=7200, community_charge_w=7200)
    relay = open_relay(battery_relay())
    timeline = {}
    for _ in range(150):
        clock.advance(MINUTE)
        battery.step(pv_w=0, load_w=3600, seconds=MINUTE, on_community_source=relay.is_on)
        relay.update(signals(battery_soc_pct=battery.soc_pct()))
        timeline[clock.elapsed] = (battery.soc_pct(), factory.pin(17).state)

    # On at 19% after 31 min; charged past 80% (81%) 31 min later; down to 19% 62 min after that.
    assert sink.switches() == [(0.0, False, "fail-safe"), (1860.0, True, "rule"), (3720.0, False, "rule"), (7440.0, True, "rule")]
    assert timeline[1800.0] == (20.0, False)  # 20% is not below 20%
    assert timeline[1860.0] == (19.0, True)
    assert timeline[3660.0] == (79.0, True)
    assert timeline[3720.0] == (81.0, False)
    assert timeline[7380.0] == (20.0, False)
    assert timeline[7440.0] == (19.0, True)


def test_battery_relay_switch_events_give_the_state_of_charge_as_reason(open_relay, clock, sink, signals):
    relay = open_relay(battery_relay())
    for soc in (50, 19, 50, 81):
        clock.advance(MINUTE)
        relay.update(signals(battery_soc_pct=soc))

    assert [(event.on, event.reason) for event in sink.events if event.switched] == [
        (False, "started: fail-safe off"),
        (True, "battery at 19%, below 20%: community source"),
        (False, "battery at 81%, above 80%: own battery"),
    ]


def test_minimum_times_hold_switches_and_log_each_hold_once(open_relay, clock, sink, signals, factory):
    relay = open_relay(battery_relay(min_off_s=300, min_on_s=600))
    # Falls 10%/min from 50% to below 20% before the minimum off time (counted from start) is up,
    # then charges 30%/min to 100% long before the minimum on time is up.
    socs = [40, 30, 20, 10, 10, 40, 70, 100, 100, 100, 100, 100, 100, 100, 100]
    states = []
    for soc in socs:
        clock.advance(MINUTE)
        relay.update(signals(battery_soc_pct=soc))
        states.append(factory.pin(17).state)

    assert states == [False, False, False, False, True, True, True, True, True, True, True, True, True, True, False]
    assert [((event.at - clock.start).total_seconds(), event.on, event.switched, event.reason) for event in sink.events] == [
        (0.0, False, True, "started: fail-safe off"),
        (240.0, False, False, "battery at 10%, below 20%: community source; held off: minimum off time 300 s, 60 s left"),
        (300.0, True, True, "battery at 10%, below 20%: community source"),
        (480.0, True, False, "battery at 100%, above 80%: own battery; held on: minimum on time 600 s, 420 s left"),
        (900.0, False, True, "battery at 100%, above 80%: own battery"),
    ]


def test_status_tells_the_dapp_when_a_held_switch_will_happen(open_relay, clock, signals):
    relay = open_relay(battery_relay(min_off_s=300))
    clock.advance(100)
    relay.update(signals(battery_soc_pct=10))

    status = relay.status()

    assert (status.on, status.pending, status.pending_in_s) == (False, True, 200.0)


def test_a_recovery_between_the_thresholds_cancels_a_held_switch(open_relay, clock, sink, signals):
    relay = open_relay(battery_relay(min_off_s=300))
    for soc in (10, 25, 25, 25, 25, 25):
        clock.advance(MINUTE)
        relay.update(signals(battery_soc_pct=soc))

    assert (relay.is_on, relay.status().pending) == (False, None)
    assert sink.switches() == [(0.0, False, "fail-safe")]


def test_low_level_trigger_board_sees_the_inverted_pin_through_the_cycle(open_relay, clock, signals, factory):
    relay = open_relay(battery_relay(active_high=False))
    states = [factory.pin(17).state]
    for soc in (50, 19, 50, 81):
        clock.advance(MINUTE)
        relay.update(signals(battery_soc_pct=soc))
        states.append(factory.pin(17).state)

    # High is off on a low-level-trigger board: off, off, on, on, off.
    assert states == [True, True, False, False, True]
    assert relay.is_on is False
