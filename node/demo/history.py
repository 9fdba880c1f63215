"""A demo household's past weeks, as if it had imported its meter's history: forecasts and alerts
have something to learn from from the first minute."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

from node.meter.dsmr.timestamps import METER_TIMEZONE
from node.meter.simulator.household import PROFILES, Household
from node.meter.simulator.meter import SimulatedMeter
from node.store.samples import Sample
from node.store.store import MeterStore, StoreSettings


def simulated_history(profile: str, seed: int, meter_id: str, first: int, end: int, step: int = 60) -> Iterator[Sample]:
    """One sample every `step` s from `first` until before `end`, with registers counting from zero.

    The same household model as the live simulated meter, integrated without making telegrams.
    """
    household = Household(PROFILES[profile], seed)
    wh = [0.0, 0.0]  # cumulative import and export, kept exact until rounded for the sample
    for ts in range(first, end, step):
        moment = datetime.fromtimestamp(ts, METER_TIMEZONE)  # the household lives by its local clock
        load, pv = household.load_w(moment), household.pv_w(moment)
        import_w, export_w = max(load - pv, 0.0), max(pv - load, 0.0)
        wh[0] += import_w * step / 3600
        wh[1] += export_w * step / 3600
        yield Sample(ts + step, meter_id, int(wh[0]), int(wh[1]), round(import_w), round(export_w))


def write_history(store_path: Path, profile: str, seed: int, end: float, days: int) -> int:
    """Fill a new store with `days` of minute samples ending at `end`; returns how many."""
    meter_id = SimulatedMeter(Household(PROFILES[profile], seed), datetime.fromtimestamp(end, timezone.utc)).meter_id
    last = int(end) // 60 * 60
    first = last - days * 86400
    samples = list(simulated_history(profile, seed, meter_id, first, last - 60))
    store_path.parent.mkdir(parents=True, exist_ok=True)
    # The store checks samples against its clock; the history's clock is its own end.
    with MeterStore(store_path, StoreSettings(max_clock_skew=None), clock=lambda: float(last)) as store:
        store.add_samples(samples)
    return len(samples)
