"""Fail-safe on start, stop, crash and lost signals; pins that cannot be opened."""

from __future__ import annotations

import pytest

from node.relay import (
    BatteryRule,
    ManualRule,
    RelayBank,
    RelayClosed,
    RelayPinError,
    RelaySettings,
    SurplusRule,
    UnknownRelay,
)

MINUTE = 60.0


def battery_relay(name="battery", pin=17, **overrides) -> RelaySettings:
    return RelaySettings(name=name, pin=pin, rule=BatteryRule(), **{"min_on_s": 0, "min_off_s": 0, **overrides})


@pytest.mark.parametrize(
    ("active_high", "fail_safe", "pin_level"),
    [(True, False, False), (True, True, True), (False, False, True), (False, True, False)],
)
def test_start_drives_the_pin_straight_to_the_fail_safe_level(open_relay, factory, active_high, fail_safe, pin_level):
    relay = open_relay(battery_relay(active_high=active_high, fail_safe=fail_safe))

    driven = [state.state for state in factory.pin(17).states[1:]]  # states[0]: the pin before it was opened

    assert (relay.is_on, factory.pin(17).state) == (fail_safe, pin_level)
    assert all(level == pin_level for level in driven)


def test_close_returns_the_relay_to_fail_safe_and_releases_the_pin(open_relay, clock, signals, sink, factory):
    relay = open_relay(battery_relay(active_high=False))
    clock.advance(MINUTE)
    relay.update(signals(battery_soc_pct=10))
    assert factory.pin(17).state is False  # on, on a low-level-trigger board

    clock.advance(MINUTE)
    relay.close()

    assert (factory.pin(17).state, factory.pin(17).function) == (True, "input")
    assert (sink.events[-1].on, sink.events[-1].reason, sink.events[-1].source) == (False, "stopped: fail-safe off", "fail-safe")


def test_close_ignores_the_minimum_on_time(open_relay, clock, signals, factory):
    relay = open_relay(battery_relay(min_on_s=3600))
    clock.advance(MINUTE)
    relay.update(signals(battery_soc_pct=10))
    clock.advance(1)

    relay.close()

    assert factory.pin(17).state is False


def test_closing_twice_does_nothing_the_second_time(open_relay):
    relay = open_relay(battery_relay())
    relay.close()

    assert relay.close() == ()


def test_a_closed_relay_refuses_updates(open_relay, signals):
    relay = open_relay(battery_relay())
    relay.close()

    with pytest.raises(RelayClosed, match="relay battery is closed"):
        relay.update(signals(battery_soc_pct=10))


def test_an_exception_leaving_the_bank_block_puts_every_relay_in_fail_safe(factory, clock, signals, sink):
    surplus = RelaySettings("boiler", 27, SurplusRule(), fail_safe=False, min_on_s=0, min_off_s=0)
    pump = RelaySettings("pump", 22, ManualRule(on=True), fail_safe=True, min_on_s=0, min_off_s=0)

    with pytest.raises(RuntimeError, match="meter thread died"):
        with RelayBank.open([battery_relay(), surplus, pump], factory, monotonic=clock.monotonic, wall_clock=clock.now, log=sink) as bank:
            clock.advance(MINUTE)
            bank.update(signals(battery_soc_pct=10, community_surplus_w=900))
            bank.override("pump", False, by="alice")
            assert [factory.pin(pin).state for pin in (17, 27, 22)] == [True, True, False]
            raise RuntimeError("meter thread died")

    assert [factory.pin(pin).state for pin in (17, 27, 22)] == [False, False, True]
    assert [factory.pin(pin).function for pin in (17, 27, 22)] == ["input", "input", "input"]
    assert {event.reason for event in sink.events[-3:]} == {
        "crash (RuntimeError: meter thread died): fail-safe off",
        "crash (RuntimeError: meter thread died): fail-safe on",
    }


def test_leaving_the_bank_block_normally_stops_every_relay(open_bank, signals, clock, factory, sink):
    with open_bank(battery_relay(), battery_relay("second", 18)) as bank:
        clock.advance(MINUTE)
        bank.update(signals(battery_soc_pct=10))

    assert [factory.pin(pin).state for pin in (17, 18)] == [False, False]
    assert [event.reason for event in sink.events[-2:]] == ["stopped: fail-safe off", "stopped: fail-safe off"]


def test_fail_safe_all_switches_now_and_the_next_update_resumes_the_rules(open_bank, clock, signals, factory):
    bank = open_bank(battery_relay())
    clock.advance(MINUTE)
    bank.update(signals(battery_soc_pct=10))

    bank.fail_safe_all("community chain halted")
    state_after_fail_safe = factory.pin(17).state
    clock.advance(MINUTE)
    bank.update(signals(battery_soc_pct=10))

    assert (state_after_fail_safe, factory.pin(17).state) == (False, True)


def test_a_pin_in_use_is_refused_and_relays_already_opened_are_released(factory, clock, sink):
    settings = [battery_relay("first", 17), battery_relay("second", 17)]

    with pytest.raises(RelayPinError, match=r"relays\.second\.pin: GPIO 17 could not be opened"):
        RelayBank.open(settings, factory, monotonic=clock.monotonic, wall_clock=clock.now, log=sink)

    assert factory.pin(17).function == "input"
    assert (sink.events[-1].relay, sink.events[-1].reason) == ("first", "start aborted: fail-safe off")


def test_asking_for_an_unknown_relay_names_the_configured_ones(open_bank):
    bank = open_bank(battery_relay())

    with pytest.raises(UnknownRelay, match="no relay named 'heater'; configured: battery"):
        bank.override("heater", True, by="alice")


def test_a_missing_signal_keeps_the_state_then_falls_to_fail_safe_after_the_timeout(open_relay, clock, signals, sink, factory):
    relay = open_relay(battery_relay(signal_timeout_s=300, min_on_s=3600))
    clock.advance(MINUTE)
    relay.update(signals(battery_soc_pct=10))
    states = []
    for _ in range(6):
        clock.advance(MINUTE)
        relay.update(signals(battery_soc_pct=None))
        states.append(factory.pin(17).state)

    # Missing from t=120; still on at 360 (240 s), fail-safe at 420 (300 s) despite the minimum on time.
    assert states == [True, True, True, True, True, False]
    assert [((event.at - clock.start).total_seconds(), event.switched, event.source, event.reason) for event in sink.events[2:]] == [
        (120.0, False, "rule", "no state-of-charge reading: stays on"),
        (420.0, True, "fail-safe", "no state-of-charge reading for 300 s (limit 300 s): fail-safe off"),
    ]


def test_a_signal_that_returns_hands_the_relay_back_to_its_rule(open_relay, clock, signals, factory):
    relay = open_relay(battery_relay(signal_timeout_s=120))
    for soc in (10, None, None, None, 10):
        clock.advance(MINUTE)
        relay.update(signals(battery_soc_pct=soc))

    assert (relay.is_on, factory.pin(17).state, relay.status().source) == (True, True, "rule")


def test_a_broken_event_sink_does_not_stop_the_relay(factory, clock, signals, caplog):
    class BrokenSink:
        def record(self, event):
            raise OSError("disk full")

    settings = battery_relay()
    with RelayBank.open([settings], factory, monotonic=clock.monotonic, wall_clock=clock.now, log=BrokenSink()) as bank:
        clock.advance(MINUTE)
        bank.update(signals(battery_soc_pct=10))

        assert factory.pin(17).state is True
    assert factory.pin(17).state is False
    assert "could not record relay battery switched on" in caplog.text
