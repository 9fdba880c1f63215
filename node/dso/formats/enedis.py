"""Enedis load curves (courbes de charge) as the customer exports write them: average power over
each step, timestamped at the END of the step, into Wh per quarter-hour.

Two layouts (docs/dso.md lists the column names): one table whose every row names its PRM, type
(CONS/PROD), step and unit; or sections, a header line naming the PRM, type, unit and step with
one line of values, then "Horodate;Valeur" rows. Steps can change within a file, rows can come
in any order, and consumption and production can share a file.

Energy is kept in milliwatt-seconds until the end, so every step converts exactly: a step is
spread over the quarter-hours it overlaps in proportion to time (a 30-minute step gives each of
its two quarter-hours the same energy, marked DERIVED), finer steps add up, and a quarter-hour
some part of which no row covers is marked INCOMPLETE.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import tzinfo
from typing import Iterator, TextIO
from zoneinfo import ZoneInfo

from node.dso.errors import UnusableFile
from node.dso.formats.table import Lines, find, header_line, normalize, separator
from node.dso.localtime import BadTime, LocalTimes
from node.dso.numbers import BadNumber, scaled
from node.dso.quantities import DERIVED, INCOMPLETE, Figure, Quantity, Refusal

PARIS = ZoneInfo("Europe/Paris")
QUARTER_HOUR = 900
STEPS_MINUTES = (5, 10, 15, 30, 60)
PRM_COLUMNS = ("identifiant prm", "prm", "usage point id", "point de livraison", "pdl", "id prm")
TIME_COLUMNS = ("horodate", "horodatage", "date mesure", "date de la mesure")
VALUE_COLUMNS = ("valeur", "value")
STEP_COLUMNS = ("pas", "pas en minutes", "interval length")
TYPE_COLUMNS = ("grandeur metier", "type de donnees", "sens", "direction", "type")
UNIT_COLUMNS = ("unite", "unit")
_MWS_PER = {"w": 1000, "kw": 1_000_000}  # milliwatts per unit of power: times seconds gives mW·s
_MWS_PER_ENERGY = {"wh": 3_600_000, "kwh": 3_600_000_000}  # mW·s per unit of energy (a few exports)
_MWS_PER_WH = 3_600_000
_STEP = re.compile(r"pt(\d+)([mh])|(\d+)(?: ?min| ?m)?")
_PRM = re.compile(r"\d{14}")
_PLAUSIBLE_W = 10**8


def looks_enedis(head: str) -> bool:
    text = normalize(head)
    return "horodate" in text or "prm" in text or "interval length" in text


@dataclass(frozen=True, slots=True)
class _Step:
    line: int
    start: int
    end: int
    mws: int  # energy over the step, milliwatt-seconds


class EnedisLoadCurve:
    """Refusals as the rows are read, then the quarter-hour figures of every PRM and direction."""

    format = "enedis"

    def __init__(self, stream: TextIO, zone: tzinfo = PARIS, point: str | None = None):
        self.rows = 0
        self.ignored: tuple[str, ...] = ()
        self._stream = stream
        self._times = LocalTimes(zone)
        self._point = point
        line, self._first = header_line(stream)
        if not line:
            raise UnusableFile("the file is empty: a load curve starts with a header line")
        self._delimiter = separator(line)
        self._header_text = line
        self.notices: dict[str, int] = {}

    def __iter__(self) -> Iterator[Figure | Refusal]:
        series: dict[tuple[str, Quantity], dict[tuple[int, int], _Step]] = {}
        section = _Section.of(next(iter(Lines([self._header_text], self._delimiter)))[1], self._first)
        expect_metadata = section.is_metadata
        metadata: dict[str, str] = {}
        for line, fields, problem in Lines(self._stream, self._delimiter, self._first):
            if fields is None:
                self.rows += 1
                yield Refusal(line, "unreadable_row", problem)
                continue
            names = [normalize(f) for f in fields]
            if _Section.is_header(names):
                section = _Section.of(fields, line)
                expect_metadata = section.is_metadata
                continue
            if expect_metadata:
                metadata = {key: fields[index].strip() for key, index in section.columns.items() if index < len(fields)}
                expect_metadata = False
                continue
            self.rows += 1
            try:
                key, step = self._step(section, metadata, fields, line)
            except _Bad as bad:
                yield Refusal(line, bad.reason, str(bad))
                continue
            steps = series.setdefault(key, {})
            earlier = steps.get((step.start, step.end))
            if earlier is not None:
                yield Refusal(earlier.line, "duplicate", f"the same step again on line {line}, which replaces it")
            steps[(step.start, step.end)] = step
        for (point, quantity), steps in sorted(series.items()):
            kept, overlapping = _without_overlaps(steps.values())
            for step in overlapping:
                yield Refusal(step.line, "overlapping_step", "overlaps a step of another length for the same PRM and type")
            yield from _quarter_hours(point, quantity, kept)

    def _step(self, section: "_Section", metadata: dict[str, str], fields: list[str], line: int):
        def cell(key: str) -> str:
            index = section.columns.get(key)
            if index is not None and index < len(fields) and fields[index].strip():
                return fields[index].strip()
            return metadata.get(key, "")

        if "time" not in section.columns or "value" not in section.columns:
            raise _Bad("no_header", "no Horodate and Valeur header before this row")
        point = cell("prm") or self._point
        if not point:
            raise _Bad("missing_field", "no PRM (an 'Identifiant PRM' column, or give --point)")
        if not _PRM.fullmatch(point):
            raise _Bad("bad_prm", f"{point!r} is not a PRM (14 digits)")
        quantity = _direction(cell("type"))
        seconds = _step_seconds(cell("step"))
        text = cell("time")
        if not text:
            raise _Bad("missing_field", "no Horodate")
        try:
            end = self._times.unix(text, (point, quantity))
        except BadTime as error:
            raise _Bad("bad_time", str(error)) from None
        if end % 60:
            raise _Bad("bad_time", f"{text} is not on a whole minute")
        return (point, quantity), _Step(line, end - seconds, end, _energy(cell("value"), cell("unit"), seconds))


class _Section:
    """Which column holds what, from a header line; a header with no Horodate names metadata."""

    KEYS = (("prm", PRM_COLUMNS), ("time", TIME_COLUMNS), ("value", VALUE_COLUMNS), ("step", STEP_COLUMNS),
            ("type", TYPE_COLUMNS), ("unit", UNIT_COLUMNS))

    def __init__(self, columns: dict[str, int], line: int):
        self.columns = columns
        self.line = line

    @classmethod
    def of(cls, fields: list[str] | None, line: int) -> "_Section":
        names = [normalize(f) for f in fields or []]
        columns: dict[str, int] = {}
        for key, candidates in cls.KEYS:
            index = find(names, candidates, set(columns.values()))
            if index is not None:
                columns[key] = index
        if "time" not in columns and "date" in names:  # plain "date" only: "date de debut" is the file's period
            columns["time"] = names.index("date")
        if not columns:
            raise UnusableFile(f"line {line}: no Enedis column (Identifiant PRM, Horodate, Valeur, Pas)")
        return cls(columns, line)

    @property
    def is_metadata(self) -> bool:
        return "time" not in self.columns

    @staticmethod
    def is_header(names: list[str]) -> bool:
        return "date" in names or any(find(names, candidates) is not None
                                      for candidates in (TIME_COLUMNS, VALUE_COLUMNS, PRM_COLUMNS[:1]))


class _Bad(Exception):
    """Why one row is refused; never leaves this module."""

    def __init__(self, reason: str, detail: str):
        super().__init__(detail)
        self.reason = reason


def _direction(text: str) -> Quantity:
    name = normalize(text)
    if name.startswith(("cons", "sout")) or name == "c":
        return Quantity.CONSUMPTION
    if name.startswith(("prod", "inj")) or name == "p":
        return Quantity.EXPORT
    if not name:
        raise _Bad("missing_field", "no type of data (CONS or PROD)")
    raise _Bad("unknown_type", f"type {text!r} is neither consumption (CONS) nor production (PROD)")


def _step_seconds(text: str) -> int:
    match = _STEP.fullmatch(normalize(text).replace(" ", ""))
    if not text:
        raise _Bad("missing_field", "no step (Pas, e.g. PT30M)")
    if match is None:
        raise _Bad("unknown_step", f"step {text!r} is not like PT30M")
    minutes = int(match.group(1)) * (60 if match.group(2) == "h" else 1) if match.group(1) else int(match.group(3))
    if minutes not in STEPS_MINUTES:
        raise _Bad("unknown_step", f"step {text} is none of {', '.join(f'PT{m}M' for m in STEPS_MINUTES)}")
    return minutes * 60


def _energy(value: str, unit: str, seconds: int) -> int:
    """mW·s over the step: average power times its length, or the energy itself when the unit is one."""
    unit_name = normalize(unit) or "w"
    if not value:
        raise _Bad("missing_field", "no Valeur")
    try:
        if unit_name in _MWS_PER:
            milli = scaled(value, _MWS_PER[unit_name])
            if not 0 <= milli < _PLAUSIBLE_W * 1000:
                raise _Bad("implausible_value", f"{value} {unit or 'W'} is not what a household draws or feeds in")
            return milli * seconds
        if unit_name in _MWS_PER_ENERGY:
            mws = scaled(value, _MWS_PER_ENERGY[unit_name])
            if mws < 0:
                raise _Bad("implausible_value", f"{value} {unit} is negative")
            return mws
    except BadNumber:
        raise _Bad("bad_number", f"Valeur {value!r} is not a number") from None
    raise _Bad("unknown_unit", f"unit {unit!r} is none of W, kW, Wh, kWh")


def _without_overlaps(steps) -> tuple[list[_Step], list[_Step]]:
    """Steps in time order; a step that begins before the one kept before it ends is set aside."""
    kept: list[_Step] = []
    overlapping: list[_Step] = []
    for step in sorted(steps, key=lambda s: (s.start, s.line)):
        if kept and step.start < kept[-1].end:
            overlapping.append(step)
        else:
            kept.append(step)
    return kept, overlapping


def _quarter_hours(point: str, quantity: Quantity, steps: list[_Step]) -> Iterator[Figure]:
    energy: dict[int, int] = {}
    covered: dict[int, int] = {}
    flags: dict[int, int] = {}
    for step in steps:
        length = step.end - step.start
        quarter = step.start - step.start % QUARTER_HOUR
        while quarter < step.end:
            overlap = min(step.end, quarter + QUARTER_HOUR) - max(step.start, quarter)
            # mW·s of the part of the step inside this quarter-hour: exact, the step's energy is a
            # whole multiple of its length in seconds when it came as power.
            energy[quarter] = energy.get(quarter, 0) + step.mws * overlap // length
            covered[quarter] = covered.get(quarter, 0) + overlap
            if length > QUARTER_HOUR:
                flags[quarter] = flags.get(quarter, 0) | DERIVED
            quarter += QUARTER_HOUR
    for quarter in sorted(energy):
        mark = flags.get(quarter, 0) | (INCOMPLETE if covered[quarter] < QUARTER_HOUR else 0)
        yield Figure(point, quarter, quantity, (energy[quarter] + _MWS_PER_WH // 2) // _MWS_PER_WH, mark)
