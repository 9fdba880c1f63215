"""A DSO file into the node's DSO store, with a report: bad rows by line, the rest imported.

The format is told from the file's first lines (an Enedis load curve names Horodate or a PRM, an
Austrian export its quantities or Zählpunkt). Exports saved by Excel on Windows come in
Windows-1252 rather than UTF-8; a file whose first 64 KiB are not UTF-8 is read as such.
"""

from __future__ import annotations

import io
from collections import Counter
from dataclasses import dataclass, field
from datetime import tzinfo
from pathlib import Path
from typing import Callable

from node.dso.errors import UnknownFormat
from node.dso.formats.austria import VIENNA, AustrianExport, looks_austrian
from node.dso.formats.enedis import PARIS, EnedisLoadCurve, looks_enedis
from node.dso.quantities import Figure, Refusal
from node.dso.store import DsoStore, Written

FORMATS = ("auto", "austria", "enedis")
_HEAD = 65536
_BATCH = 20_000  # values per transaction
_PROGRESS_EVERY = 8192  # rows between progress reports


@dataclass(frozen=True)
class Problem:
    """A row refused, where it began, and why (what `meter import` reports too)."""

    where: str
    reason: str
    detail: str


@dataclass
class ImportReport:
    """What an import did: rows read, values new to the store, unchanged, changed, rows refused."""

    format: str
    layout: str = ""
    rows: int = 0
    written: Written = field(default_factory=Written)
    refused: Counter[str] = field(default_factory=Counter)
    points: set[str] = field(default_factory=set)
    first_start: int | None = None
    last_start: int | None = None
    ignored_columns: tuple[str, ...] = ()

    @property
    def values(self) -> int:
        """Values in the file the store now holds: new, changed or already there."""
        return self.written.stored + self.written.changed + self.written.unchanged


def detect_format(head: str) -> str:
    if looks_enedis(head):
        return "enedis"
    if looks_austrian(head):
        return "austria"
    raise UnknownFormat("neither an Austrian community export (G.01 ... P.01, Zählpunkt) nor an Enedis load curve"
                        " (Identifiant PRM, Horodate, Valeur, Pas)")


def _opened(path: Path):
    """The file as bytes: a CSV as it is, a workbook's sheet as the same kind of text."""
    suffix = path.suffix.lower()
    if suffix == ".xls":
        raise UnknownFormat(f"{path.name}: the old Excel format is not read; save it as .xlsx or CSV")
    if suffix in (".xlsx", ".xlsm"):
        from node.dso.formats.spreadsheet import sheet_as_text

        text = sheet_as_text(path, lambda header: looks_enedis(header) or looks_austrian(header))
        return io.BufferedReader(io.BytesIO(text.encode("utf-8")), buffer_size=_HEAD)
    return open(path, "rb", buffering=_HEAD)


def import_file(
    path: str | Path,
    store: DsoStore,
    file_format: str = "auto",
    zone: tzinfo | None = None,
    point: str | None = None,
    on_problem: Callable[[Problem], None] = lambda problem: None,
    on_progress: Callable[[int], None] = lambda done: None,
    batch_size: int = _BATCH,
) -> ImportReport:
    """Import the file at `path`; raises OSError if it cannot be read, UnusableFile or UnknownFormat
    for a header the importer cannot use. `zone` is that of local times (Europe/Vienna for Austrian
    exports, Europe/Paris for Enedis, unless given)."""
    path = Path(path)
    with _opened(path) as binary:
        head = binary.peek(_HEAD)[:_HEAD]
        encoding = _encoding(head)
        text = io.TextIOWrapper(binary, encoding=encoding, errors="replace", newline="")
        chosen = detect_format(head.decode(encoding, errors="replace")) if file_format == "auto" else file_format
        if chosen == "austria":
            source = AustrianExport(text, zone or VIENNA, point)
        else:
            source = EnedisLoadCurve(text, zone or PARIS, point)
        report = ImportReport(chosen, getattr(source, "layout", "load curve"), ignored_columns=source.ignored)
        position = binary.tell if binary.seekable() else (lambda: 0)
        batch: list[Figure] = []
        for count, item in enumerate(source, start=1):
            if count % _PROGRESS_EVERY == 0:
                on_progress(position())
            if isinstance(item, Refusal):
                report.refused[item.reason] += 1
                on_problem(Problem(f"line {item.line}", item.reason, item.detail))
                continue
            batch.append(item)
            if len(batch) >= batch_size:
                _flush(store, batch, report)
        _flush(store, batch, report)
        on_progress(position())
    report.rows = source.rows
    store.record_import(str(path), chosen, report.rows, report.written, sum(report.refused.values()))
    return report


def _flush(store: DsoStore, batch: list[Figure], report: ImportReport) -> None:
    if not batch:
        return
    report.written += store.write(batch)
    starts = [f.start for f in batch]
    report.first_start = min(starts + ([report.first_start] if report.first_start is not None else []))
    report.last_start = max(starts + ([report.last_start] if report.last_start is not None else []))
    report.points.update(f.point for f in batch)
    batch.clear()


def _encoding(head: bytes) -> str:
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as error:
        if error.start < len(head) - 4:  # not just a character cut off at the end of the peek
            return "cp1252"
    return "utf-8-sig"
