"""Fixtures for the relay tests: gpiozero's MockFactory, a clock the test moves, recorded events."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from gpiozero.pins.mock import MockFactory

from node.relay import Relay, RelayBank, RelaySettings, Signals, SwitchEvent

START = datetime(2024, 6, 3, 8, 0, tzinfo=timezone.utc)  # a Monday morning


class FakeClock:
    """Monotonic seconds and wall time that move together, only when the test says so."""

    def __init__(self, start: datetime = START):
        self.start = start
        self.elapsed = 0.0

    def monotonic(self) -> float:
        # Far from zero, like a real monotonic clock: nothing may assume it starts at 0.
        return 12_345.0 + self.elapsed

    def now(self) -> datetime:
        return self.start + timedelta(seconds=self.elapsed)

    def advance(self, seconds: float) -> None:
        self.elapsed += seconds


class RecordingSink:
    """Keeps every event a relay reports."""

    def __init__(self):
        self.events: list[SwitchEvent] = []

    def record(self, event: SwitchEvent) -> None:
        self.events.append(event)

    def switches(self, start: datetime = START) -> list[tuple[float, bool, str]]:
        """(seconds after `start`, state, source) of every switch."""
        return [((e.at - start).total_seconds(), e.on, e.source) for e in self.events if e.switched]


@pytest.fixture
def factory():
    pins = MockFactory()
    yield pins
    pins.reset()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def sink() -> RecordingSink:
    return RecordingSink()


@pytest.fixture
def open_relay(factory, clock, sink):
    """Opens a relay on the mock pins with the test's clock and sink; closes it after the test."""
    relays: list[Relay] = []

    def _open(settings: RelaySettings) -> Relay:
        relay = Relay(settings, factory, monotonic=clock.monotonic, wall_clock=clock.now, log=sink)
        relays.append(relay)
        return relay

    yield _open
    for relay in relays:
        relay.close()


@pytest.fixture
def open_bank(factory, clock, sink):
    banks: list[RelayBank] = []

    def _open(*settings: RelaySettings) -> RelayBank:
        bank = RelayBank.open(settings, factory, monotonic=clock.monotonic, wall_clock=clock.now, log=sink)
        banks.append(bank)
        return bank

    yield _open
    for bank in banks:
        bank.close()


@pytest.fixture
def signals(clock):
    """A Signals snapshot at the clock's current time."""

    def _signals(**values) -> Signals:
        return Signals(now=clock.now(), **values)

    return _signals
