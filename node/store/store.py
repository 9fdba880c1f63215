"""The household's local meter store (SQLite, WAL): readings, 15-minute interval energy, aggregates.

Writes are batched: readings wait in memory until `batch_size` of them or `flush_every`
seconds, then go in one transaction together with every interval they closed. A killed process
loses at most that unwritten batch; the file stays consistent (SQLite WAL).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone, tzinfo
from pathlib import Path
from typing import Callable, Iterable

from node.meter.dsmr.timestamps import METER_TIMEZONE
from node.meter.reading import Reading
from node.sqlite import transaction
from node.store import calendar, schema
from node.store.errors import StoreError, UnusableReading
from node.store.intervals import NO_DATA, IntervalRow, RegisterPoint, interval_rows
from node.store.samples import Sample, sample_from_reading


@dataclass(frozen=True)
class StoreSettings:
    """How the store keeps data. Durations in seconds."""

    retention: int = 7 * 86400  # raw readings are kept this long, then thinned to one a minute
    interval: int = 900  # the settlement interval
    max_gap: int = 60  # readings further apart than this make an interval incomplete
    max_power_w: int = 100_000  # a register step that needs more power is a reset or swap
    batch_size: int = 600
    flush_every: float = 10.0
    maintain_every: float = 3600.0
    max_clock_skew: int | None = 86400  # readings this far from the host clock are refused

    def __post_init__(self) -> None:
        if self.interval <= 0 or self.interval % 60 or 3600 % self.interval:
            raise ValueError("the interval must be whole minutes that divide an hour")
        if self.retention % 60:
            raise ValueError("the retention must be whole minutes")


@dataclass(frozen=True)
class IntervalEnergy:
    """Imported and exported Wh in one interval, and whether every part of it was measured."""

    start: datetime
    end: datetime
    import_wh: int | None
    export_wh: int | None
    complete: bool
    issues: tuple[str, ...]


@dataclass(frozen=True)
class Bucket:
    """Totals of one part of an aggregate (an hour, a day or a month)."""

    start: date | datetime
    import_wh: int
    export_wh: int
    complete_intervals: int
    expected_intervals: int


@dataclass(frozen=True)
class Aggregate:
    """Totals of a day, week, month or year, split into buckets for a chart."""

    period: str
    first_day: date
    import_wh: int
    export_wh: int
    complete_intervals: int
    expected_intervals: int
    buckets: tuple[Bucket, ...]

    @property
    def complete(self) -> bool:
        return self.complete_intervals == self.expected_intervals


class MeterStore:
    """SQLite store of one household's readings. Use as a context manager, or call close()."""

    def __init__(
        self,
        path: str | Path,
        settings: StoreSettings = StoreSettings(),
        clock: Callable[[], float] = time.time,
        local: tzinfo = METER_TIMEZONE,
    ):
        self.path = Path(path)
        self.settings = settings
        self._clock = clock
        self.local = local
        self.db = schema.connect(str(self.path))
        self._meters = dict(self.db.execute("SELECT meter_id, id FROM meters"))
        self._pending: list[Sample] = []
        self._last_flush = clock()
        self._last_maintenance: float | None = None
        self.refused: dict[str, int] = {}
        self._closed = False

    def __enter__(self) -> "MeterStore":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Write what is pending and close the database (again: nothing)."""
        if self._closed:
            return
        self.flush()
        self.db.close()
        self._closed = True

    # -- writing ---------------------------------------------------------------------------

    def add(self, reading: Reading, received_at: datetime | None = None) -> bool:
        """Queue a reading; False (and counted in `refused`) if it has no time or registers."""
        try:
            sample = sample_from_reading(reading, received_at)
        except UnusableReading as error:
            self._refuse(str(error))
            return False
        return self.add_sample(sample)

    def add_sample(self, sample: Sample) -> bool:
        """Queue a sample; written with its batch. False if its time is implausible."""
        skew = self.settings.max_clock_skew
        if skew is not None and abs(sample.ts - self._clock()) > skew:
            self._refuse("meter clock too far from the host clock")
            return False
        self._pending.append(sample)
        if len(self._pending) >= self.settings.batch_size or self._clock() - self._last_flush >= self.settings.flush_every:
            self.flush()
        return True

    def add_samples(self, samples: Iterable[Sample]) -> None:
        """Queue many samples (an import); batches are flushed as they fill."""
        for sample in samples:
            self.add_sample(sample)

    def flush(self) -> None:
        """Write the pending readings and the intervals they close, in one transaction."""
        self._last_flush = self._clock()
        if self._pending:
            pending, self._pending = self._pending, []
            with transaction(self.db):
                self.db.executemany(
                    "INSERT OR IGNORE INTO readings (ts, meter, import_wh, export_wh, import_w, export_w)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    [
                        (s.ts, self.meter_key(s.meter_id), s.import_wh, s.export_wh, s.import_w, s.export_w)
                        for s in pending
                    ],
                )
                self._adopt_interval()
                self._close_intervals(max(s.ts for s in pending))
            # Only a store that writes thins: a reader (the DApp, `node status`) never writes.
            if self._last_maintenance is None or self._clock() - self._last_maintenance >= self.settings.maintain_every:
                self.maintain()

    def record_intervals(self, first: int, last: int, close_until: int) -> None:
        """Record again the closed intervals that readings from `first` to `last` (unix s) take part
        in, and close those that end by `close_until`: for past readings written out of turn (an
        import), inside the transaction that wrote them."""
        length = self.settings.interval
        closed = self._meta("intervals_until")
        if closed is not None:
            since = max((first - 1) // length * length, self._first_interval())
            until = min(((last + self.settings.max_gap) // length + 1) * length, closed)
            if since < until:
                self._write_intervals(since, until)
        self._close_intervals(min(last, close_until))

    def maintain(self) -> None:
        """Thin readings older than the retention window to the last one of each minute."""
        self._last_maintenance = self._clock()
        cutoff = (int(self._clock()) - self.settings.retention) // 60 * 60
        done = self._meta("downsampled_until")
        if done is None:
            oldest = self.db.execute("SELECT min(ts) FROM readings").fetchone()[0]
            if oldest is None:
                return
            done = (oldest - 1) // 60 * 60
        if cutoff <= done:
            return
        with transaction(self.db):
            self.thin(done, cutoff)
            self._set_meta("downsampled_until", cutoff)

    def thin(self, after: int, until: int) -> None:
        """Keep the last reading of each minute from `after` to `until` (whole minutes), with the
        minute's average power; inside a transaction."""
        # Minutes are (m-60, m]: the reading kept for a minute is the last at or before its end,
        # which is exactly the reading interval energy uses at a boundary.
        self.db.execute(
            """UPDATE readings SET import_w = agg.import_w, export_w = agg.export_w, samples = agg.samples
               FROM (SELECT max(ts) AS keep, CAST(round(avg(import_w)) AS INTEGER) AS import_w,
                            CAST(round(avg(export_w)) AS INTEGER) AS export_w, sum(samples) AS samples
                     FROM readings WHERE ts > ? AND ts <= ? GROUP BY (ts + 59) / 60) AS agg
               WHERE readings.ts = agg.keep""",
            [after, until],
        )
        self.db.execute(
            """DELETE FROM readings WHERE ts > ? AND ts <= ? AND ts NOT IN
               (SELECT max(ts) FROM readings WHERE ts > ? AND ts <= ? GROUP BY (ts + 59) / 60)""",
            [after, until, after, until],
        )

    # -- reading ---------------------------------------------------------------------------

    def latest(self) -> Sample | None:
        """The newest stored reading (pending ones included)."""
        if self._pending:
            return self._pending[-1]
        row = self.db.execute(
            "SELECT r.ts, m.meter_id, r.import_wh, r.export_wh, r.import_w, r.export_w"
            " FROM readings r LEFT JOIN meters m ON m.id = r.meter ORDER BY r.ts DESC LIMIT 1"
        ).fetchone()
        return Sample(*row) if row else None

    def readings(self, start: datetime, end: datetime) -> list[Sample]:
        """Stored readings with start <= time < end, oldest first."""
        rows = self.db.execute(
            "SELECT r.ts, m.meter_id, r.import_wh, r.export_wh, r.import_w, r.export_w"
            " FROM readings r LEFT JOIN meters m ON m.id = r.meter WHERE r.ts >= ? AND r.ts < ? ORDER BY r.ts",
            [_unix(start), _unix(end)],
        ).fetchall()
        return [Sample(*row) for row in rows]

    def interval_energy(self, start: datetime, end: datetime) -> list[IntervalEnergy]:
        """Energy per interval from `start` to `end` (both rounded down to interval boundaries).

        Closed intervals come as recorded when their readings were written; the rest are worked
        out from the readings now, so the one still running shows as incomplete.
        """
        self.flush()
        length = self.settings.interval
        first = _unix(start) // length * length
        stop = _unix(end) // length * length
        recorded_until = self._meta("intervals_until") or first
        rows: dict[int, IntervalRow] = {
            row[0]: IntervalRow(row[0], row[1], row[2], tuple(row[3].split(",")) if row[3] else ())
            for row in self.db.execute(
                "SELECT start, import_wh, export_wh, issues FROM intervals WHERE start >= ? AND start < ?",
                [first, min(stop, recorded_until)],
            )
        }
        live_from = max(first, recorded_until)
        if live_from < stop:
            for row in interval_rows(self._points(live_from, stop), live_from, stop, length, self.settings.max_gap, self.settings.max_power_w):
                rows[row.start] = row
        out = []
        for begin in range(first, stop, length):
            row = rows.get(begin) or IntervalRow(begin, None, None, (NO_DATA,))
            out.append(
                IntervalEnergy(
                    start=datetime.fromtimestamp(begin, timezone.utc),
                    end=datetime.fromtimestamp(begin + length, timezone.utc),
                    import_wh=row.import_wh,
                    export_wh=row.export_wh,
                    complete=row.complete,
                    issues=row.issues,
                )
            )
        return out

    def aggregate(self, period: str, day: date) -> Aggregate:
        """Totals for the local day, ISO week, month or year containing `day`.

        Buckets are hours for a day, days for a week or month, months for a year. Only recorded
        (closed) intervals count; `expected_intervals` says how many the period has.
        """
        first, after = calendar.period_dates(period, day)
        if period == "day":
            return self._day_aggregate(first)
        begin, end = calendar.local_midnight(first, self.local), calendar.local_midnight(after, self.local)
        key = "local_day / 100" if period == "year" else "local_day"
        found = {
            row[0]: row[1:]
            for row in self.db.execute(
                f"SELECT {key}, sum(import_wh), sum(export_wh), sum(complete) FROM intervals"
                " WHERE start >= ? AND start < ? GROUP BY 1",
                [begin, end],
            )
        }
        buckets = []
        starts = calendar.bucket_dates(period, first, after)
        for index, bucket_day in enumerate(starts):
            bucket_after = starts[index + 1] if index + 1 < len(starts) else after
            code = bucket_day.year * 100 + bucket_day.month if period == "year" else _day_code(bucket_day)
            imported, exported, complete = found.get(code, (0, 0, 0))
            buckets.append(
                Bucket(bucket_day, imported or 0, exported or 0, complete or 0, self._expected(bucket_day, bucket_after))
            )
        return _total(period, first, buckets)

    def _day_aggregate(self, day: date) -> Aggregate:
        begin = calendar.local_midnight(day, self.local)
        end = calendar.local_midnight(day + timedelta(days=1), self.local)
        # Keyed by unix time: on the autumn DST day two hours share a wall-clock time.
        hours = {hour_start: [0, 0, 0] for hour_start in range(begin, end, 3600)}
        for start, imported, exported, complete in self.db.execute(
            "SELECT start, import_wh, export_wh, complete FROM intervals WHERE start >= ? AND start < ?", [begin, end]
        ):
            totals = hours[start - (start - begin) % 3600]
            totals[0] += imported or 0
            totals[1] += exported or 0
            totals[2] += complete
        per_hour = 3600 // self.settings.interval
        buckets = [
            Bucket(datetime.fromtimestamp(hour, self.local), i, e, c, per_hour) for hour, (i, e, c) in hours.items()
        ]
        return _total("day", day, buckets)

    # -- internals -------------------------------------------------------------------------

    def _expected(self, first: date, after: date) -> int:
        seconds = calendar.local_midnight(after, self.local) - calendar.local_midnight(first, self.local)
        return seconds // self.settings.interval

    def _adopt_interval(self) -> None:
        """A store whose intervals were recorded at another length (the community's became known, or
        changed) records them anew from its readings; stores from before this check were at 900 s."""
        recorded = self._meta("interval_length")
        if recorded is None and self._meta("intervals_until") is not None:
            recorded = 900
        if recorded == self.settings.interval:
            return
        if recorded is not None:
            self.db.execute("DELETE FROM intervals")
            self.db.execute("DELETE FROM meta WHERE key = 'intervals_until'")
        self._set_meta("interval_length", self.settings.interval)

    def _close_intervals(self, newest: int) -> None:
        length = self.settings.interval
        closed_until = newest // length * length
        since = self._meta("intervals_until")
        if since is None:
            since = self._first_interval()
        if closed_until <= since:
            return
        self._write_intervals(since, closed_until)
        self._set_meta("intervals_until", closed_until)

    def _first_interval(self) -> int:
        oldest = self.db.execute("SELECT min(ts) FROM readings").fetchone()[0]
        return oldest // self.settings.interval * self.settings.interval

    def _write_intervals(self, since: int, until: int) -> None:
        length = self.settings.interval
        rows = interval_rows(self._points(since, until), since, until, length, self.settings.max_gap, self.settings.max_power_w)
        self.db.executemany(
            "INSERT OR REPLACE INTO intervals (start, local_day, import_wh, export_wh, complete, issues)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            [
                (row.start, calendar.day_key(row.start, self.local), row.import_wh, row.export_wh, int(row.complete), ",".join(row.issues))
                for row in rows
                if row.issues != (NO_DATA,)
            ],
        )

    def _points(self, first: int, stop: int) -> list[RegisterPoint]:
        return [
            RegisterPoint(*row)
            for row in self.db.execute(
                "SELECT ts, meter, import_wh, export_wh FROM readings WHERE ts >= ? AND ts <= ? ORDER BY ts",
                [first - self.settings.max_gap, stop],
            )
        ]

    def meter_key(self, meter_id: str | None) -> int | None:
        """The row id of a meter, added on first sight; write inside a transaction."""
        if meter_id is None:
            return None
        key = self._meters.get(meter_id)
        if key is None:
            self.db.execute("INSERT OR IGNORE INTO meters (meter_id) VALUES (?)", [meter_id])
            key = self.db.execute("SELECT id FROM meters WHERE meter_id = ?", [meter_id]).fetchone()[0]
            self._meters[meter_id] = key
        return key

    def _meta(self, key: str) -> int | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchone()
        return row[0] if row else None

    def _set_meta(self, key: str, value: int) -> None:
        self.db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", [key, value])

    def _refuse(self, reason: str) -> None:
        self.refused[reason] = self.refused.get(reason, 0) + 1


def _unix(moment: datetime) -> int:
    if moment.tzinfo is None:
        raise StoreError("store times must be aware datetimes")
    return int(moment.timestamp())


def _day_code(day: date) -> int:
    return day.year * 10000 + day.month * 100 + day.day


def _total(period: str, first: date, buckets: list[Bucket]) -> Aggregate:
    return Aggregate(
        period=period,
        first_day=first,
        import_wh=sum(b.import_wh for b in buckets),
        export_wh=sum(b.export_wh for b in buckets),
        complete_intervals=sum(b.complete_intervals for b in buckets),
        expected_intervals=sum(b.expected_intervals for b in buckets),
        buckets=tuple(buckets),
    )
