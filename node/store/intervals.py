"""Interval energy from cumulative registers: differences of readings, never integrated power.

For an interval [start, end) the opening reading is the last one at or before `start` and the
closing reading the last one at or before `end`. Energy is the sum of register differences
between consecutive readings from opening to closing, so it is exactly what the meter counted.
An interval is complete only when both edges have a reading within `max_gap` seconds and no two
consecutive readings are further apart. A register that runs backwards, jumps by more than
`max_power_w` could deliver, or belongs to another meter is a reset or swap: that one step is
left out (never negative, never huge) and the interval is marked incomplete.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

NO_DATA = "no_data"
LATE_START = "late_start"
EARLY_END = "early_end"
GAP = "gap"
REGISTER_RESET = "register_reset"
METER_CHANGED = "meter_changed"
IMPLAUSIBLE_JUMP = "implausible_jump"
_SLACK_WH = 10  # register resolution and rounding between two readings


@dataclass(frozen=True, slots=True)
class RegisterPoint:
    """A reading reduced to what interval energy needs."""

    ts: int
    meter: object
    import_wh: int | None
    export_wh: int | None


@dataclass(frozen=True, slots=True)
class IntervalRow:
    """Energy of one interval in Wh (None when no two usable readings fall in it) and why it is incomplete."""

    start: int
    import_wh: int | None
    export_wh: int | None
    issues: tuple[str, ...]

    @property
    def complete(self) -> bool:
        return not self.issues


def interval_rows(
    points: Sequence[RegisterPoint],
    first_start: int,
    end: int,
    length: int,
    max_gap: int,
    max_power_w: int,
) -> list[IntervalRow]:
    """Rows for every interval from `first_start` up to `end`, from points sorted by time.

    `points` must include the readings up to `max_gap` seconds before `first_start`.
    """
    rows: list[IntervalRow] = []
    index, count = 0, len(points)
    previous: RegisterPoint | None = None  # the last point at or before the current start
    while index < count and points[index].ts <= first_start:
        previous = points[index]
        index += 1
    for start in range(first_start, end, length):
        stop = start + length
        issues: list[str] = []
        cursor = previous if previous is not None and start - previous.ts <= max_gap else None
        if cursor is None:
            issues.append(LATE_START)
        totals: list[int | None] = [None, None]
        while index < count and points[index].ts <= stop:
            point = points[index]
            index += 1
            if cursor is None:
                cursor = point
                continue
            seconds = point.ts - cursor.ts
            if seconds > max_gap and GAP not in issues:
                issues.append(GAP)
            problem = _discontinuity(cursor, point, seconds, max_power_w)
            if problem is not None:
                if problem not in issues:
                    issues.append(problem)
            else:
                for slot, (before, after) in enumerate(
                    ((cursor.import_wh, point.import_wh), (cursor.export_wh, point.export_wh))
                ):
                    if before is not None and after is not None:
                        totals[slot] = (totals[slot] or 0) + after - before
            cursor = point
        if cursor is None:
            rows.append(IntervalRow(start, None, None, (NO_DATA,)))
            continue
        if stop - cursor.ts > max_gap:
            issues.append(EARLY_END)
        previous = cursor
        rows.append(IntervalRow(start, totals[0], totals[1], tuple(issues)))
    return rows


def _discontinuity(before: RegisterPoint, after: RegisterPoint, seconds: int, max_power_w: int) -> str | None:
    if before.meter is not None and after.meter is not None and before.meter != after.meter:
        return METER_CHANGED
    limit = max_power_w * max(seconds, 1) / 3600 + _SLACK_WH
    for old, new in ((before.import_wh, after.import_wh), (before.export_wh, after.export_wh)):
        if old is None or new is None:
            continue
        if new < old:
            return REGISTER_RESET
        if new - old > limit:
            return IMPLAUSIBLE_JUMP
    return None
