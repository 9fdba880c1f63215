"""Local calendar periods (day, ISO week, month, year) as unix-time bounds, DST included."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, tzinfo

PERIODS = ("day", "week", "month", "year")


def period_dates(period: str, day: date) -> tuple[date, date]:
    """First day of the `period` containing `day`, and the first day after it."""
    if period == "day":
        return day, day + timedelta(days=1)
    if period == "week":
        monday = day - timedelta(days=day.weekday())
        return monday, monday + timedelta(days=7)
    if period == "month":
        first = day.replace(day=1)
        return first, (first + timedelta(days=32)).replace(day=1)
    if period == "year":
        return date(day.year, 1, 1), date(day.year + 1, 1, 1)
    raise ValueError(f"period must be one of {', '.join(PERIODS)}, not {period!r}")


def local_midnight(day: date, local: tzinfo) -> int:
    """Unix time of the start of `day` in `local`."""
    return int(datetime.combine(day, time(), tzinfo=local).timestamp())


def day_key(ts: int, local: tzinfo) -> int:
    """The local day of a unix time as yyyymmdd, for grouping in SQL."""
    moment = datetime.fromtimestamp(ts, local)
    return moment.year * 10000 + moment.month * 100 + moment.day


def bucket_dates(period: str, first: date, after: date) -> list[date]:
    """The sub-periods an aggregate is split into: days for a week or month, months for a year."""
    if period == "year":
        return [date(first.year, month, 1) for month in range(1, 13)]
    return [first + timedelta(days=offset) for offset in range((after - first).days)]
