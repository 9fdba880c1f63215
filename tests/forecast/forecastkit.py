"""What the forecast tests share: hourly series built from a rule, and a meter store written minute by minute."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Callable
from zoneinfo import ZoneInfo

from node.mirror.db import MirrorDB, MirroredEvent
from node.store.calendar import local_midnight
from node.store.samples import Sample
from node.store.store import MeterStore, StoreSettings

ZONE = ZoneInfo("Europe/Amsterdam")


def hourly(first_day: date, days: int, wh: Callable[[datetime], float | None]) -> dict[int, float]:
    """A series of `days` local days from `first_day`: `wh(local hour start)` for every hour (None leaves a gap)."""
    begin = local_midnight(first_day, ZONE)
    end = local_midnight(first_day + timedelta(days=days), ZONE)
    series = {}
    for start in range(begin, end, 3600):
        value = wh(datetime.fromtimestamp(start, ZONE))
        if value is not None:
            series[start] = value
    return series


def write_minutes(path: Path, first: int, end: int, import_w: Callable[[int], int], export_w: Callable[[int], int],
                  skip: range = range(0)) -> None:
    """Readings every minute in [first, end] but those in `skip`; power in multiples of 60 W keeps every Wh exact."""
    imported = exported = 0
    with MeterStore(path, StoreSettings(max_clock_skew=None), clock=lambda: end, local=ZONE) as store:
        for ts in range(first, end + 1, 60):
            if ts not in skip:
                store.add_sample(Sample(ts, "E0001", imported, exported, import_w(ts), export_w(ts)))
            imported += import_w(ts) // 60
            exported += export_w(ts) // 60


def write_chain(path: Path, readings: dict[int, dict[int, tuple[int, int]]], settled: list[int]) -> None:
    """A mirror holding `readings` (interval -> member -> (import Wh, export Wh)) and the settlements of `settled`."""
    events = []
    for interval, members in sorted(readings.items()):
        for member, (imported, exported) in members.items():
            events.append(("ReadingSubmitted", {"interval": interval, "memberId": member, "importWh": imported,
                                                "exportWh": exported}))
    for interval in settled:
        events.append(("IntervalSettled", {"interval": interval, "productionWh": 0, "allocatedWh": 0, "paid": 0,
                                           "unpaid": 0, "key": 0}))
    mirror = MirrorDB(path)
    mirror.append([MirroredEvent(number, 0, f"0x{number:064x}", 1_700_000_000 + number, f"0x{number:064x}", "Community",
                                 name, args) for number, (name, args) in enumerate(events, start=1)],
                  {}, len(events), 64)
    mirror.close()
