"""Fixtures for the store tests: a store on a real SQLite file, driven by a clock the test sets."""

from __future__ import annotations

from datetime import datetime

import pytest

from node.meter.dsmr.timestamps import METER_TIMEZONE
from node.store import MeterStore, Sample, StoreSettings

START = datetime(2024, 6, 3, tzinfo=METER_TIMEZONE)  # a Monday, local midnight


class ManualClock:
    """Unix time that moves only when the test says so."""

    def __init__(self, now: float):
        self.now = now

    def __call__(self) -> float:
        return self.now


def steady_samples(start: int, count: int, step: int = 10, import_w: int = 600, export_w: int = 0,
                   meter: str = "E0044007", import_wh: int = 1_000_000, export_wh: int = 0) -> list[Sample]:
    """Readings of a constant load: registers hold exactly power x time, floored to whole Wh."""
    return [
        Sample(
            start + index * step,
            meter,
            import_wh + index * step * import_w // 3600,
            export_wh + index * step * export_w // 3600,
            import_w,
            export_w,
        )
        for index in range(count)
    ]


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START.timestamp())


@pytest.fixture
def open_store(tmp_path, clock):
    """Opens (or reopens) the test's store file with the given settings."""
    stores: list[MeterStore] = []

    def _open(**settings) -> MeterStore:
        store = MeterStore(tmp_path / "meter.db", StoreSettings(**settings), clock=clock)
        stores.append(store)
        return store

    yield _open
    for store in stores:
        store.close()


@pytest.fixture
def steady():
    return steady_samples


@pytest.fixture
def dsmr5_bytes() -> bytes:
    from pathlib import Path

    return (Path(__file__).parent.parent / "meter" / "telegrams" / "dsmr5.txt").read_bytes()


@pytest.fixture
def start() -> datetime:
    """Local midnight on Monday 3 June 2024, where the clock starts."""
    return START
