"""Energy of a local day, week, month or year, slot by slot, for the History chart and table.

A day has one slot per 15-minute interval (92 or 100 on DST days), from the store's intervals; a
week or month one per day and a year one per month, from the store's aggregates (which read the
interval table, never raw readings). Community figures come from this member's settlements:
`allocated` is what the community's production covered of its import, `sold` its export the
community took, and the deal figures what peer deals delivered to it and by it (see dapp.member_flows).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone, tzinfo

from dapp.member_flows import Flows
from node.store import calendar
from node.store.store import MeterStore

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@dataclass(frozen=True)
class Slot:
    """One bar of the chart: Wh imported, exported, allocated and sold from `start` to `end` (unix)."""

    label: str
    start: int
    end: int
    import_wh: int | None  # None: an interval with nothing measured
    export_wh: int | None
    allocated_wh: int
    sold_wh: int
    from_deals_wh: int  # import that peer deals delivered (paid through the deal, not the key)
    to_deals_wh: int  # export delivered under peer deals
    complete_intervals: int
    expected_intervals: int
    elapsed_intervals: int  # intervals that have ended by now

    @property
    def missing_intervals(self) -> int:
        """Ended intervals that were not fully measured."""
        return max(0, self.elapsed_intervals - self.complete_intervals)


@dataclass(frozen=True)
class Series:
    period: str
    first_day: date
    last_day: date
    slots: tuple[Slot, ...]

    def total(self, name: str) -> int:
        return sum(getattr(slot, name) or 0 for slot in self.slots)

    def as_json(self) -> dict:
        slots = self.slots
        return {
            "period": self.period,
            "first_day": self.first_day.isoformat(),
            "last_day": self.last_day.isoformat(),
            "unit": "Wh",
            "labels": [s.label for s in slots],
            "import_wh": [s.import_wh for s in slots],
            "export_wh": [s.export_wh for s in slots],
            "allocated_wh": [s.allocated_wh for s in slots],
            "sold_to_community_wh": [s.sold_wh for s in slots],
            "from_deals_wh": [s.from_deals_wh for s in slots],
            "to_deals_wh": [s.to_deals_wh for s in slots],
            "complete_intervals": [s.complete_intervals for s in slots],
            "expected_intervals": [s.expected_intervals for s in slots],
            "missing_intervals": [s.missing_intervals for s in slots],
            "totals": {
                "import_wh": self.total("import_wh"),
                "export_wh": self.total("export_wh"),
                "allocated_wh": self.total("allocated_wh"),
                "sold_to_community_wh": self.total("sold_wh"),
                "from_deals_wh": self.total("from_deals_wh"),
                "to_deals_wh": self.total("to_deals_wh"),
                "complete_intervals": self.total("complete_intervals"),
                "expected_intervals": self.total("expected_intervals"),
                "elapsed_intervals": self.total("elapsed_intervals"),
                "missing_intervals": self.total("missing_intervals"),
            },
        }


def series(store: MeterStore, flows: Flows, period: str, day: date, now: float, zone: tzinfo) -> Series:
    """The `period` (day, week, month, year) containing `day`, at node time `now`."""
    first, after = calendar.period_dates(period, day)
    length = store.settings.interval
    ended_before = int(now) // length * length

    def slot(label: str, start: int, end: int, imported, exported, complete: int) -> Slot:
        expected = (end - start) // length
        elapsed = min(expected, max(0, (ended_before - start) // length))
        return Slot(label, start, end, imported, exported,
                    flows.total(flows.allocated, start // length, end // length),
                    flows.total(flows.sold, start // length, end // length),
                    flows.total(flows.dealt_import, start // length, end // length),
                    flows.total(flows.dealt_export, start // length, end // length),
                    complete, expected, elapsed)

    if period == "day":
        begin, end = calendar.local_midnight(first, zone), calendar.local_midnight(after, zone)
        intervals = store.interval_energy(_utc(begin), _utc(end))
        labels = _interval_labels([int(e.start.timestamp()) for e in intervals], zone)
        slots = [
            slot(label, int(e.start.timestamp()), int(e.end.timestamp()), e.import_wh, e.export_wh, int(e.complete))
            for label, e in zip(labels, intervals)
        ]
    else:
        aggregate = store.aggregate(period, day)
        bounds = [b.start for b in aggregate.buckets] + [after]
        slots = []
        for bucket, bucket_after in zip(aggregate.buckets, bounds[1:]):
            start, end = calendar.local_midnight(bucket.start, zone), calendar.local_midnight(bucket_after, zone)
            slots.append(slot(_bucket_label(period, bucket.start), start, end, bucket.import_wh, bucket.export_wh,
                              bucket.complete_intervals))
    return Series(period, first, after - timedelta(days=1), tuple(slots))


def _interval_labels(starts: list[int], zone: tzinfo) -> list[str]:
    """Local HH:MM; on the autumn DST day the repeated hour carries its zone name (CEST, then CET)."""
    moments = [datetime.fromtimestamp(start, zone) for start in starts]
    plain = [m.strftime("%H:%M") for m in moments]
    repeated = {label for label, times in Counter(plain).items() if times > 1}
    return [f"{label} {m.tzname()}" if label in repeated else label for label, m in zip(plain, moments)]


def _bucket_label(period: str, start: date) -> str:
    if period == "year":
        return _MONTHS[start.month - 1]
    if period == "week":
        return f"{start:%a} {start.day}"
    return str(start.day)


def _utc(ts: int) -> datetime:
    return datetime.fromtimestamp(ts, timezone.utc)
