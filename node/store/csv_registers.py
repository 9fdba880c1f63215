"""CSV exports of timestamped cumulative registers, row by row into samples (docs/meter.md lists the columns).

Rows that cannot become a sample come back as a Rejection with the reason; nothing here raises
for a bad row, only for a header that names no time or no energy column.
"""

from __future__ import annotations

import csv
from datetime import datetime, tzinfo
from decimal import ROUND_FLOOR, Decimal, InvalidOperation
from typing import Iterator, TextIO

from node.meter.reading import Rejection
from node.store.errors import StoreError
from node.store.samples import Sample

TIMESTAMP = "timestamp"
IMPORT_TARIFFS = ("import_t1_kwh", "import_t2_kwh")
EXPORT_TARIFFS = ("export_t1_kwh", "export_t2_kwh")
IMPORT_TOTAL, EXPORT_TOTAL = "import_kwh", "export_kwh"
POWER_COLUMNS = ("import_w", "export_w")
METER_ID = "meter_id"
ENERGY_COLUMNS = (*IMPORT_TARIFFS, *EXPORT_TARIFFS, IMPORT_TOTAL, EXPORT_TOTAL)
KNOWN_COLUMNS = (TIMESTAMP, *ENERGY_COLUMNS, *POWER_COLUMNS, METER_ID)
_SEPARATORS = (";", ",", "\t")
_GROUPING = str.maketrans("", "", " \u00a0'")
_DIGITS = 12  # digits before the point: far beyond any household meter
Located = tuple[int, Sample | Rejection]


class UnusableHeader(StoreError):
    """A CSV file's first line does not name a timestamp column and at least one energy column."""


class _BadRow(Exception):
    """Why one row is rejected; never leaves this module."""

    def __init__(self, reason: str, detail: str):
        super().__init__(detail)
        self.reason = reason


class CsvRegisters:
    """Rows of a register export with their line numbers; `ignored` names header columns it does not use."""

    def __init__(self, stream: TextIO, local: tzinfo):
        self.local = local
        self._stream = stream
        header_line, self._header_number = _first_line(stream)
        self.separator = max(_SEPARATORS, key=header_line.count)
        header = [name.strip().lower() for name in next(csv.reader([header_line], delimiter=self.separator))]
        self.columns: dict[str, int] = {}
        for index, name in enumerate(header):
            if name in KNOWN_COLUMNS:
                self.columns.setdefault(name, index)
        self.ignored = tuple(name for name in header if name not in KNOWN_COLUMNS and name)
        if TIMESTAMP not in self.columns:
            raise UnusableHeader(f"line {self._header_number}: no '{TIMESTAMP}' column in the header {header_line.strip()!r}")
        if not any(name in self.columns for name in ENERGY_COLUMNS):
            raise UnusableHeader(
                f"line {self._header_number}: no energy column; give {', '.join(ENERGY_COLUMNS)} (any of them)"
            )
        self._previous_ts: int | None = None

    def __iter__(self) -> Iterator[Located]:
        rows = csv.reader(self._stream, delimiter=self.separator)
        offset = self._header_number
        end = 0
        while True:
            try:
                fields = next(rows)
            except StopIteration:
                return
            except csv.Error as error:  # e.g. a quote left open swallowing lines: the reader goes on after it
                start, end = end + 1, rows.line_num
                yield start + offset, Rejection("unreadable_row", str(error))
                continue
            start, end = end + 1, rows.line_num
            if not fields or not any(field.strip() for field in fields):
                continue
            try:
                sample = self._sample(fields)
            except _BadRow as bad:
                yield start + offset, Rejection(bad.reason, str(bad))
            else:
                self._previous_ts = sample.ts
                yield start + offset, sample

    def _sample(self, fields: list[str]) -> Sample:
        cells = {name: fields[index].strip() if index < len(fields) else None for name, index in self.columns.items()}
        missing = [name for name, cell in cells.items() if cell is None]
        if missing:
            raise _BadRow("missing_field", f"{len(fields)} fields, no {', '.join(missing)}")
        import_wh = _register(cells, IMPORT_TARIFFS, IMPORT_TOTAL)
        export_wh = _register(cells, EXPORT_TARIFFS, EXPORT_TOTAL)
        if import_wh is None and export_wh is None:
            raise _BadRow("no_energy", "no import or export register in this row")
        return Sample(
            ts=self._unix_time(cells[TIMESTAMP]),
            meter_id=cells.get(METER_ID) or None,
            import_wh=import_wh,
            export_wh=export_wh,
            import_w=_whole(cells, "import_w", 1),
            export_w=_whole(cells, "export_w", 1),
        )

    def _unix_time(self, text: str) -> int:
        try:
            moment = datetime.fromisoformat(text)
            return int(moment.timestamp()) if moment.tzinfo is not None else self._local_time(moment)
        except (ValueError, OverflowError, OSError):  # OverflowError, OSError: years no platform clock reaches
            raise _BadRow("bad_timestamp", f"{text!r} is not an ISO 8601 time like 2024-01-15T10:30:00+01:00") from None

    def _local_time(self, moment: datetime) -> int:
        first = int(moment.replace(tzinfo=self.local).timestamp())
        if datetime.fromtimestamp(first, self.local).replace(tzinfo=None) != moment.replace(microsecond=0):
            raise _BadRow("bad_timestamp", f"{moment.isoformat()} does not exist in {self.local} (the clocks went forward)")
        second = int(moment.replace(tzinfo=self.local, fold=1).timestamp())
        # The hour the clocks go back happens twice: the second time it is, once rows went past it.
        if second != first and self._previous_ts is not None and first < self._previous_ts <= second:
            return second
        return first


def _first_line(stream: TextIO) -> tuple[str, int]:
    for number, line in enumerate(stream, start=1):
        if line.strip():
            return line.lstrip("\ufeff"), number
    raise UnusableHeader("the file is empty: a CSV export starts with a header line")


def _register(cells: dict[str, str | None], tariffs: tuple[str, ...], total: str) -> int | None:
    """Wh of the tariff columns summed or, where a row leaves them all empty, of the total column."""
    filled = [name for name in tariffs if cells.get(name)]
    if filled:
        empty = [name for name in tariffs if name in cells and not cells[name]]
        if empty:
            raise _BadRow("missing_field", f"{', '.join(empty)} empty while {', '.join(filled)} is not")
        return sum(_whole(cells, name, 1000) for name in filled)
    return _whole(cells, total, 1000)


def _whole(cells: dict[str, str | None], name: str, factor: int) -> int | None:
    """A cell's number times `factor`, floored as the store floors meter values; None if empty or absent."""
    text = cells.get(name)
    if not text:
        return None
    number = _decimal(text)
    if number is None:
        raise _BadRow("bad_number", f"{name} {text!r} is not a number")
    if number.adjusted() >= _DIGITS:  # before it becomes a huge integer; the import judges the rest
        raise _BadRow("bad_number", f"{name} {text} is beyond any household meter")
    return int((number * factor).to_integral_value(rounding=ROUND_FLOOR))


def _decimal(text: str) -> Decimal | None:
    """A number written with a decimal point or comma; the last of both marks is the decimal one."""
    if "," not in text and text.count(".") <= 1:  # the common case: a plain number
        try:
            number = Decimal(text)
        except InvalidOperation:
            number = None
        if number is not None:
            return number if number.is_finite() else None
    text = text.translate(_GROUPING)
    comma, point = text.rfind(","), text.rfind(".")
    if comma > point:
        text = text.replace(".", "").replace(",", ".") if text.count(",") == 1 else None
    elif point >= 0 and comma >= 0:
        text = text.replace(",", "")
    elif text.count(".") > 1:
        text = None
    if text is None:
        return None
    try:
        number = Decimal(text)
    except InvalidOperation:
        return None
    return number if number.is_finite() else None
