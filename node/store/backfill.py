"""Past samples into the store (an import): deduplicated, thinned as the store thins old readings,
and written in short transactions that a running node's own writes interleave with.

A sample whose time the store already has is a duplicate. Older than the retention window the
store keeps one reading a minute (MeterStore.thin); there a minute the store already has is kept
as it is, and its samples count as duplicates. Each batch ends on an interval boundary and goes in
one transaction: its readings, the intervals worked out from them at full resolution, then the
thinning. So a killed import leaves whole batches, and a second run adds only what is missing.
"""

from __future__ import annotations

from bisect import bisect_right
from operator import attrgetter
from typing import Callable

from node.sqlite import transaction
from node.store.samples import Sample
from node.store.store import MeterStore

_BY_TIME = attrgetter("ts")


class Backfill:
    """Writes past samples into `store` in batches of whole intervals; counts new and duplicate ones."""

    def __init__(self, store: MeterStore, clock: Callable[[], float], batch_size: int = 5000):
        self.store = store
        self._clock = clock
        self.batch_size = batch_size
        self.imported = 0
        self.duplicates = 0
        self._pending: list[Sample] = []

    def add(self, sample: Sample) -> None:
        """Queue a sample; a full batch is written once the interval of its last sample is complete."""
        if len(self._pending) >= self.batch_size and self._interval(sample) != self._interval(self._pending[-1]):
            self.flush()
        self._pending.append(sample)

    def flush(self) -> None:
        """Write the queued samples, the intervals they take part in, and thin them, in one transaction."""
        if not self._pending:
            return
        queued, self._pending = self._pending, []
        batch = _one_per_time(sorted(queued, key=_BY_TIME))
        now = int(self._clock())
        settings = self.store.settings
        split = bisect_right(batch, (now - settings.retention) // 60 * 60, key=_BY_TIME)
        db = self.store.db
        with transaction(db):
            old, recent = self._new_minutes(batch[:split]), self._new_times(batch[split:])
            new = old + recent
            if new:
                db.executemany(
                    "INSERT INTO readings (ts, meter, import_wh, export_wh, import_w, export_w) VALUES (?, ?, ?, ?, ?, ?)",
                    [(s.ts, self.store.meter_key(s.meter_id), s.import_wh, s.export_wh, s.import_w, s.export_w) for s in new],
                )
                self.store.record_intervals(new[0].ts, new[-1].ts, close_until=now - settings.interval)
            if old:
                self.store.thin((_minute(old[0].ts) - 1) * 60, _minute(old[-1].ts) * 60)
        self.imported += len(new)
        self.duplicates += len(queued) - len(new)

    def _new_minutes(self, old: list[Sample]) -> list[Sample]:
        """The samples older than the retention window whose minute the store does not have yet."""
        if not old:
            return []
        stored = self._stored("(ts + 59) / 60", (_minute(old[0].ts) - 1) * 60, _minute(old[-1].ts) * 60)
        return [sample for sample in old if _minute(sample.ts) not in stored]

    def _new_times(self, recent: list[Sample]) -> list[Sample]:
        """The samples inside the retention window whose time the store does not have yet."""
        if not recent:
            return []
        stored = self._stored("ts", recent[0].ts - 1, recent[-1].ts)
        return [sample for sample in recent if sample.ts not in stored]

    def _stored(self, key: str, after: int, until: int) -> set[int]:
        return {row[0] for row in self.store.db.execute(f"SELECT DISTINCT {key} FROM readings WHERE ts > ? AND ts <= ?", [after, until])}

    def _interval(self, sample: Sample) -> int:
        """The interval a sample closes or lies in: (start, end], so a batch keeps the reading at its end."""
        return (sample.ts - 1) // self.store.settings.interval


def _one_per_time(batch: list[Sample]) -> list[Sample]:
    """The first sample the file gave for each time (the sort is stable)."""
    unique = [batch[0]]
    for sample in batch[1:]:
        if sample.ts != unique[-1].ts:
            unique.append(sample)
    return unique


def _minute(ts: int) -> int:
    """The minute (m-60, m] a time belongs to, as the store counts minutes, by its end m/60."""
    return (ts + 59) // 60
