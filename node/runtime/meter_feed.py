"""The simulated meter as a node part: telegrams made at the node's (possibly accelerated) pace
go through the same decoder as a real meter's bytes, into the store."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Callable

from node.meter.decoder import MeterDecoder
from node.meter.reading import Reading
from node.meter.simulator.household import PROFILES, Household
from node.meter.simulator.meter import SimulatedMeter
from node.store.store import MeterStore


class SimulatedMeterFeed:
    """Steps a simulated household's meter up to the node's clock on every `step()`."""

    def __init__(self, store: MeterStore, clock: Callable[[], float], profile: str, seed: int, every: float,
                 meter_id: str | None = None, on_stored: Callable[[object], None] | None = None):
        self.store = store
        self.on_stored = on_stored
        self.clock = clock
        self.decoder = MeterDecoder()
        self.meter = resumed_meter(profile, seed, every, clock(), store.latest(), meter_id)
        self.readings = 0
        self.last_power_w: tuple[int, int] | None = None

    def step(self, limit: int = 10_000) -> int:
        """Produce every telegram due by now; returns how many readings were stored."""
        now = datetime.fromtimestamp(self.clock(), timezone.utc)
        stored = 0
        while self.meter.moment + timedelta(seconds=self.meter.interval) <= now and stored < limit:
            _moment, telegram = self.meter.step()
            for event in self.decoder.feed(telegram):
                if isinstance(event, Reading) and self.store.add(event):
                    stored += 1
                    if self.on_stored is not None:
                        self.on_stored(self.store.latest())
        self.readings += stored
        return stored


def resumed_meter(profile: str, seed: int, every: float, now: float, latest, meter_id: str | None = None) -> SimulatedMeter:
    """A simulated meter that goes on from the store's `latest` sample, as a meter that kept counting
    while its reader was stopped (or starts at `now` with empty registers)."""
    start = datetime.fromtimestamp(int(now), timezone.utc)
    if latest is not None and latest.ts < now:
        start = datetime.fromtimestamp(latest.ts, timezone.utc)
    meter = SimulatedMeter(Household(PROFILES[profile], seed), start, interval=every, meter_id=meter_id)
    if latest is not None:
        meter.registers.import_mwh = [0, (latest.import_wh or 0) * 1000]
        meter.registers.export_mwh = [0, (latest.export_wh or 0) * 1000]
    return meter
