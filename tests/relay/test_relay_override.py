"""Manual overrides from the DApp: precedence over the rule, expiry, minimum times, clearing."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from node.relay import BatteryRule, ManualRule, RelayError, RelaySettings

MINUTE = 60.0
HOUR = timedelta(hours=1)


def manual_relay(**overrides) -> RelaySettings:
    return RelaySettings(name="heater", pin=22, rule=ManualRule(), **overrides)


def test_an_override_switches_at_once_and_expires_back_to_the_rule(open_relay, clock, signals, sink, factory):
    relay = open_relay(manual_relay())
    clock.advance(MINUTE)

    relay.override(True, by="alice", until=clock.now() + HOUR)
    on_during = factory.pin(22).state
    clock.advance(3600 - 1)
    relay.update(signals())
    on_just_before_the_end = factory.pin(22).state
    clock.advance(1)
    relay.update(signals())

    assert (on_during, on_just_before_the_end, factory.pin(22).state) == (True, True, False)
    assert [(event.switched, event.source, event.reason) for event in sink.events[1:]] == [
        (True, "manual", "manual override by alice: on until 2024-06-03T09:01+00:00"),
        (False, "manual", "manual override by alice: on until 2024-06-03T09:01+00:00 expired: back to the rule"),
        (True, "rule", "manual relay: rests off unless switched by hand"),
    ]


def test_an_override_wins_over_the_rule(open_relay, clock, signals, factory):
    relay = open_relay(RelaySettings("battery", 17, BatteryRule(), min_on_s=0, min_off_s=0))
    clock.advance(MINUTE)
    relay.override(False, by="bob")
    for _ in range(5):
        clock.advance(MINUTE)
        relay.update(signals(battery_soc_pct=5))

    assert (factory.pin(17).state, relay.status().source) == (False, "manual")


def test_an_override_inside_the_minimum_off_time_waits_for_it(open_relay, clock, signals, sink, factory):
    relay = open_relay(manual_relay(min_off_s=120))
    clock.advance(20)

    events = relay.override(True, by="alice")
    clock.advance(99)
    relay.update(signals())
    still_off = factory.pin(22).state
    clock.advance(1)
    relay.update(signals())

    assert [(event.switched, event.reason) for event in events] == [
        (False, "manual override by alice: on; held off: minimum off time 120 s, 100 s left")
    ]
    assert (still_off, factory.pin(22).state) == (False, True)
    assert sink.switches() == [(0.0, False, "fail-safe"), (120.0, True, "manual")]


def test_a_forced_override_ignores_the_minimum_off_time(open_relay, clock, factory):
    relay = open_relay(manual_relay(min_off_s=120))
    clock.advance(20)

    relay.override(True, by="alice", force=True)

    assert factory.pin(22).state is True


def test_clearing_an_override_hands_the_relay_back_to_its_rule_at_the_next_update(open_relay, clock, signals, factory):
    relay = open_relay(manual_relay(min_on_s=0))
    clock.advance(MINUTE)
    relay.override(True, by="alice")

    cleared = relay.override(None, by="alice")
    on_until_update = factory.pin(22).state
    relay.update(signals())

    assert [event.reason for event in cleared] == ["manual override by alice: on cleared by alice: back to the rule"]
    assert (on_until_update, factory.pin(22).state, relay.status().override) == (True, False, None)


def test_an_override_the_relay_already_follows_is_still_logged(open_relay, clock, sink):
    relay = open_relay(manual_relay())
    clock.advance(MINUTE)

    relay.override(False, by="alice")

    assert (sink.events[-1].switched, sink.events[-1].reason) == (False, "manual override by alice: off: already off")


def test_an_override_that_already_ended_is_refused(open_relay, clock):
    relay = open_relay(manual_relay())

    with pytest.raises(RelayError, match="has already passed"):
        relay.override(True, by="alice", until=clock.now())


def test_an_override_end_without_a_time_zone_is_refused(open_relay):
    relay = open_relay(manual_relay())

    with pytest.raises(ValueError, match="timezone-aware"):
        relay.override(True, by="alice", until=datetime(2030, 1, 1))


def test_status_shows_the_override_and_who_set_it(open_relay, clock):
    relay = open_relay(manual_relay())
    clock.advance(MINUTE)
    until = clock.now() + HOUR
    relay.override(True, by="alice", until=until)

    status = relay.status()

    assert (status.on, status.source, status.override.by, status.override.until, status.since) == (
        True,
        "manual",
        "alice",
        until,
        clock.now(),
    )
