"""Austrian energy-community data: what the grid operator sends per metering point and quarter-hour
(EDA messages), as the CSV exports of community portals and billing tools write it.

Two layouts (docs/dso.md lists the column names):
- wide: one row per metering point and quarter-hour, one column per quantity (G.01, G.02, G.03,
  P.01, by code or by German label);
- long: one row per metering point, quarter-hour and quantity (a code column and a value column).
Values are kWh unless a header or unit column says Wh; times are the start of the quarter-hour.
"""

from __future__ import annotations

import re
from datetime import tzinfo
from typing import Iterator, TextIO
from zoneinfo import ZoneInfo

from node.dso.errors import UnusableFile
from node.dso.formats.table import Lines, find, header_line, named, normalize, separator
from node.dso.localtime import BadTime, LocalTimes
from node.dso.numbers import BadNumber, scaled
from node.dso.quantities import AUSTRIAN_CODES, Figure, Quantity, Refusal

VIENNA = ZoneInfo("Europe/Vienna")
QUARTER_HOUR = 900
POINT_COLUMNS = ("zaehlpunkt", "zaehlpunktnummer", "zaehlpunkt-id", "zaehlpunktbezeichnung", "metering point",
                 "meteringpoint", "metering point id", "meteringpointid", "zp", "zpn", "messpunkt")
TIME_COLUMNS = ("beginn", "von", "zeit von", "datum von", "beginn der messperiode", "start", "zeitstempel",
                "timestamp", "messzeitpunkt", "datum/uhrzeit", "datum uhrzeit", "datum", "zeit", "from", "time", "date")
CODE_COLUMNS = ("code", "messgroesse", "quantity", "groesse", "obis", "obis-code", "obiscode", "kennzahl",
                "bezeichnung", "typ", "art")
VALUE_COLUMNS = ("wert", "value", "menge", "energie", "energy", "kwh", "wh")
UNIT_COLUMNS = ("einheit", "unit")
_CODE = re.compile(r"(?<![a-z0-9])([gp])\.(0[1-3])(?![0-9])")
# Labels Austrian portals print for the quantities, checked in this order ("eigendeckung
# gemeinschaftliche erzeugung" also holds the words of G.02's label).
_LABELS = (
    ("eigendeckung", Quantity.COVERED), ("anteil", Quantity.SHARE), ("ueberschuss", Quantity.SURPLUS),
    ("gesamtverbrauch", Quantity.CONSUMPTION),
)
_POINT = re.compile(r"[A-Z]{2}[0-9A-Z]{31}")
_PLAUSIBLE_WH = 10**9  # a quarter-hour: beyond any metering point of a community


def quantity_named(text: str) -> Quantity | None:
    """The quantity a header or code cell names: its code (G.01 ... P.01, also inside an OBIS-style
    code such as "1-1:2.9.0 G.03"), else its German label."""
    name = normalize(text)
    match = _CODE.search(name)
    if match:
        return AUSTRIAN_CODES.get(f"{match.group(1).upper()}.{match.group(2)}")
    for word, quantity in _LABELS:
        if word in name:
            return quantity
    return None


def looks_austrian(head: str) -> bool:
    text = normalize(head)
    return bool(_CODE.search(text)) or "zaehlpunkt" in text or any(word in text for word, _ in _LABELS)


def _factor(text: str) -> int | None:
    """Wh per unit a header or unit cell names: 1000 for kWh, 1 for Wh, None when it names neither."""
    name = normalize(text)
    if "kwh" in name:
        return 1000
    if re.search(r"(?<![a-z])wh(?![a-z])", name):
        return 1
    return None


class AustrianExport:
    """The figures of an Austrian export, and refusals of the rows it cannot use, in file order."""

    format = "austria"

    def __init__(self, stream: TextIO, zone: tzinfo = VIENNA, point: str | None = None):
        self.rows = 0
        self._stream = stream
        self._times = LocalTimes(zone)
        self._point = point
        line, self._header_number = header_line(stream)
        if not line:
            raise UnusableFile("the file is empty: an export starts with a header line")
        self._delimiter = separator(line)
        raw = next(iter(Lines([line], self._delimiter)))[1] or []
        header = [normalize(name) for name in raw]
        where = f"line {self._header_number}"
        self._point_column = find(header, POINT_COLUMNS)
        if self._point_column is None and point is None:
            raise UnusableFile(f"{where}: no metering point column ({', '.join(POINT_COLUMNS[:2])}, ...);"
                               " give the household's with --point")
        taken = {self._point_column} - {None}
        self.quantities = [(index, q, _factor(raw[index]) or 1000) for index, q in
                           ((index, quantity_named(raw[index])) for index in range(len(raw)) if index not in taken)
                           if q is not None and not named(header[index], TIME_COLUMNS)]
        taken |= {index for index, _, _ in self.quantities}
        self._time_column = find(header, TIME_COLUMNS, taken)
        if self._time_column is None:
            raise UnusableFile(f"{where}: no time column ({', '.join(TIME_COLUMNS[:4])}, ...)")
        taken.add(self._time_column)
        self.layout = "wide"
        if not self.quantities:
            self.layout = "long"
            self._code_column = find(header, CODE_COLUMNS, taken)
            self._value_column = find(header, VALUE_COLUMNS, taken | {self._code_column})
            if self._code_column is None or self._value_column is None:
                raise UnusableFile(f"{where}: no quantity columns (G.01, G.02, G.03, P.01) and no code and value"
                                   " columns for one quantity a row")
            self._unit_column = find(header, UNIT_COLUMNS, taken | {self._code_column, self._value_column})
            self._value_factor = _factor(raw[self._value_column]) or 1000
        known = taken | ({self._code_column, self._value_column, self._unit_column} if self.layout == "long" else set())
        self.ignored = tuple(raw[i].strip() for i in range(len(raw)) if i not in known and raw[i].strip())

    def __iter__(self) -> Iterator[Figure | Refusal]:
        rows = self._wide if self.layout == "wide" else self._long
        for line, fields, problem in Lines(self._stream, self._delimiter, self._header_number):
            self.rows += 1
            if fields is None:
                yield Refusal(line, "unreadable_row", problem)
                continue
            try:
                yield from rows(fields)
            except _Bad as bad:
                yield Refusal(line, bad.reason, str(bad))

    def _wide(self, fields: list[str]) -> list[Figure]:
        point = self._metering_point(fields)
        start = self._start(fields, point)
        figures = []
        for index, quantity, factor in self.quantities:
            cell = fields[index].strip() if index < len(fields) else ""
            if cell:
                figures.append(Figure(point, start, quantity, _wh(cell, factor, quantity)))
        if not figures:
            raise _Bad("no_value", "no quantity in this row has a value")
        return figures

    def _long(self, fields: list[str]) -> list[Figure]:
        point = self._metering_point(fields)
        code = _cell(fields, self._code_column, "quantity code")
        quantity = quantity_named(code)
        if quantity is None:
            raise _Bad("unknown_quantity", f"{code!r} is none of G.01, G.02, G.03, P.01")
        start = self._start(fields, (point, quantity))
        factor = self._value_factor
        if self._unit_column is not None and (unit := _cell(fields, self._unit_column, "unit", required=False)):
            factor = _factor(unit)
            if factor is None:
                raise _Bad("unknown_unit", f"unit {unit!r} is neither kWh nor Wh")
        return [Figure(point, start, quantity, _wh(_cell(fields, self._value_column, "value"), factor, quantity))]

    def _metering_point(self, fields: list[str]) -> str:
        if self._point_column is None:
            return self._point
        point = _cell(fields, self._point_column, "metering point").replace(" ", "").upper()
        if not _POINT.fullmatch(point):
            raise _Bad("bad_metering_point", f"{point!r} is not a metering point id like AT0030000000000000000000000123456")
        return point

    def _start(self, fields: list[str], series) -> int:
        text = _cell(fields, self._time_column, "time")
        try:
            start = self._times.unix(text, series)
        except BadTime as error:
            raise _Bad("bad_time", str(error)) from None
        if start % QUARTER_HOUR:
            raise _Bad("bad_time", f"{text} is not the start of a quarter-hour")
        return start


class _Bad(Exception):
    """Why one row is refused; never leaves this module."""

    def __init__(self, reason: str, detail: str):
        super().__init__(detail)
        self.reason = reason


def _cell(fields: list[str], index: int, what: str, required: bool = True) -> str:
    cell = fields[index].strip() if index < len(fields) else ""
    if not cell and required:
        raise _Bad("missing_field", f"no {what}")
    return cell


def _wh(cell: str, factor: int, quantity: Quantity) -> int:
    try:
        wh = scaled(cell, factor)
    except BadNumber:
        raise _Bad("bad_number", f"{quantity.label} {cell!r} is not a number") from None
    if not 0 <= wh < _PLAUSIBLE_WH:
        raise _Bad("implausible_value", f"{quantity.label} {cell} is not what a metering point measures in a quarter-hour")
    return wh
