"""Times as DSO exports write them: ISO 8601 with an offset, or local wall-clock times.

A local time in the hour the clocks go back happens twice. Exports list both, so the first row
of a metering point (and quantity) at that wall-clock time is the first hour and the second row
the repeated one: this holds for files sorted in time and for the unsorted ones seen in practice,
which keep each day's rows in order. A third row at the same wall-clock time is refused.
"""

from __future__ import annotations

import re
from datetime import datetime, tzinfo

_DOTTED = re.compile(r"(\d{1,2})\.(\d{1,2})\.(\d{4})[ T]+(\d{1,2}):(\d{2})(?::(\d{2}))?")
_SLASHED = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})[ T]+(\d{1,2}):(\d{2})(?::(\d{2}))?")


class BadTime(ValueError):
    """A time that cannot be read, does not exist locally, or repeats too often; never leaves node.dso."""


class LocalTimes:
    """Unix seconds of the times in one file, local ones in `zone`."""

    def __init__(self, zone: tzinfo):
        self.zone = zone
        self._plain: dict[str, int] = {}  # text -> unix time, for texts that can mean only one moment
        self._repeats: dict[tuple, int] = {}  # (series, wall-clock time) -> rows seen in the repeated hour

    def unix(self, text: str, series: object = None) -> int:
        """The moment `text` names; `series` tells apart rows that each have their own repeated hour."""
        known = self._plain.get(text)
        if known is not None:
            return known
        moment = _parse(text.strip())
        if moment.tzinfo is not None:
            value = int(moment.timestamp())
            self._plain[text] = value
            return value
        first = int(moment.replace(tzinfo=self.zone).timestamp())
        if datetime.fromtimestamp(first, self.zone).replace(tzinfo=None) != moment:
            raise BadTime(f"{moment:%Y-%m-%d %H:%M} does not exist in {self.zone} (the clocks went forward)")
        second = int(moment.replace(tzinfo=self.zone, fold=1).timestamp())
        if second == first:
            self._plain[text] = first
            return first
        seen = self._repeats.get((series, moment), 0)
        if seen >= 2:
            raise BadTime(f"{moment:%Y-%m-%d %H:%M} appears a third time; the hour the clocks go back has only two")
        self._repeats[(series, moment)] = seen + 1
        return first if seen == 0 else second


def _parse(text: str) -> datetime:
    for pattern in (_DOTTED, _SLASHED):
        match = pattern.fullmatch(text)
        if match:
            day, month, year, hour, minute, second = match.groups()
            try:
                return datetime(int(year), int(month), int(day), int(hour), int(minute), int(second or 0))
            except ValueError:
                raise BadTime(f"{text!r} is not a calendar time") from None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise BadTime(f"{text!r} is not a time like 31.03.2024 01:45 or 2024-03-31T01:45:00+01:00") from None
    try:
        moment.timestamp()
    except (OverflowError, OSError):
        raise BadTime(f"{text!r} is beyond any clock") from None
    return moment
