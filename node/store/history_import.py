"""A file of past meter data (a P1 capture or a CSV register export) into the store, with a report.

Bad records are reported where they began and skipped; the import goes on to the end of the file.
Records later than now are rejected: they would close intervals the meter has not finished. So are
records before 2000 and negative or enormous values. Records out of time order are stored by time
like the rest. A register that runs backwards (a new meter?) is stored and noticed; the store marks
its interval incomplete and never counts a negative step.
"""

from __future__ import annotations

import io
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from pathlib import Path
from typing import BinaryIO, Callable

from node.meter.dlms.ciphering import MeterKeys
from node.meter.dsmr.specs import AUTO, TelegramSpec
from node.meter.dsmr.timestamps import METER_TIMEZONE
from node.meter.reading import Rejection
from node.store.backfill import Backfill
from node.store.csv_registers import CsvRegisters
from node.store.p1_capture import P1Capture, looks_binary
from node.store.samples import Sample
from node.store.store import MeterStore

_HEAD = 65536  # bytes looked at to tell a CSV from a capture, and text from binary
_PROGRESS_EVERY = 4096  # records between progress reports
_PLAUSIBLE = 10**12  # Wh or W: beyond any household meter, well inside SQLite's integers
_EARLIEST = 946684800  # 2000-01-01 UTC; a stray older time would have the store work out every interval since


@dataclass(frozen=True)
class Problem:
    """A record the import rejected (or only noticed), where in the file it began, and why."""

    where: str
    reason: str
    detail: str
    rejected: bool = True


@dataclass
class ImportReport:
    """What an import did: records new to the store, already there, rejected, and their time range."""

    format: str
    imported: int = 0
    duplicates: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    noticed: Counter[str] = field(default_factory=Counter)
    out_of_order: int = 0
    skipped_bytes: int = 0
    first_ts: int | None = None
    last_ts: int | None = None
    ignored_columns: tuple[str, ...] = ()

    @property
    def accepted(self) -> int:
        """Records now in the store: imported by this run or found there already."""
        return self.imported + self.duplicates


def detect_format(head: bytes) -> str:
    """'csv' when the first line names a timestamp column, else 'p1'."""
    first_line = head.lstrip(b"\xef\xbb\xbf \t\r\n").split(b"\n", 1)[0]
    return "csv" if b"timestamp" in first_line.lower() else "p1"


def import_history(
    path: str | Path,
    store: MeterStore,
    clock: Callable[[], float],
    file_format: str = "auto",
    local: tzinfo = METER_TIMEZONE,
    keys: MeterKeys | None = None,
    spec: TelegramSpec = AUTO,
    on_problem: Callable[[Problem], None] = lambda problem: None,
    on_progress: Callable[[int], None] = lambda done: None,
    batch_size: int = 5000,
) -> ImportReport:
    """Import the file at `path` into `store`; raises OSError if it cannot be read, StoreError for an unusable CSV header."""
    now = int(clock())
    with open(path, "rb", buffering=_HEAD) as binary:
        head = binary.peek(_HEAD)[:_HEAD]
        chosen = detect_format(head) if file_format == "auto" else file_format
        source, where = _source(binary, head, chosen, local, keys, spec)
        report = ImportReport(chosen, ignored_columns=source.ignored if isinstance(source, CsvRegisters) else ())
        bytes_read = binary.tell if binary.seekable() else (lambda: 0)  # a pipe has no position
        writer = Backfill(store, clock, batch_size)
        previous: Sample | None = None
        for count, (position, item) in enumerate(source, start=1):
            if count % _PROGRESS_EVERY == 0:
                on_progress(bytes_read())
            if isinstance(item, Rejection):
                report.rejected[item.reason] += 1
                on_problem(Problem(where(position), item.reason, item.detail))
                continue
            if (implausible := _implausible(item)) is not None:
                report.rejected["implausible_value"] += 1
                on_problem(Problem(where(position), "implausible_value", implausible))
                continue
            if item.ts < _EARLIEST:
                report.rejected["implausible_time"] += 1
                on_problem(Problem(where(position), "implausible_time", f"{_local(item.ts, local)} is before any smart meter"))
                continue
            if item.ts > now:
                report.rejected["in_future"] += 1
                on_problem(Problem(where(position), "in_future", f"{_local(item.ts, local)} is later than now ({_local(now, local)})"))
                continue
            if previous is not None and item.ts < previous.ts:
                report.out_of_order += 1
            elif previous is not None and (notice := _discontinuity(previous, item)) is not None:
                report.noticed[notice[0]] += 1
                on_problem(Problem(where(position), *notice, rejected=False))
            previous = item
            report.first_ts = item.ts if report.first_ts is None else min(report.first_ts, item.ts)
            report.last_ts = item.ts if report.last_ts is None else max(report.last_ts, item.ts)
            writer.add(item)
        writer.flush()
        on_progress(bytes_read())
    report.imported, report.duplicates = writer.imported, writer.duplicates
    report.skipped_bytes = source.decoder.skipped_bytes if isinstance(source, P1Capture) else 0
    return report


def _source(binary: BinaryIO, head: bytes, chosen: str, local: tzinfo, keys: MeterKeys | None, spec: TelegramSpec):
    """The file's records, and how to say where one began."""
    if chosen == "csv":
        text = io.TextIOWrapper(binary, encoding="utf-8-sig", errors="replace", newline="")
        return CsvRegisters(text, local), "line {}".format
    binary_capture = looks_binary(head)
    return P1Capture(binary, binary_capture, keys, spec), ("near byte {}" if binary_capture else "line {}").format


def _implausible(sample: Sample) -> str | None:
    for name in ("import_wh", "export_wh", "import_w", "export_w"):
        value = getattr(sample, name)
        if value is not None and not 0 <= value < _PLAUSIBLE:
            return f"{name} {value} is not what a household meter reads"
    return None


def _discontinuity(before: Sample, after: Sample) -> tuple[str, str] | None:
    if before.meter_id is not None and after.meter_id is not None and before.meter_id != after.meter_id:
        return "meter_changed", f"meter {before.meter_id} became {after.meter_id}; its interval is marked incomplete"
    for name, old, new in (("import", before.import_wh, after.import_wh), ("export", before.export_wh, after.export_wh)):
        if old is not None and new is not None and new < old:
            return "register_decrease", (
                f"the {name} register went back from {old / 1000:.3f} to {new / 1000:.3f} kWh (a new meter?);"
                " its interval is marked incomplete"
            )
    return None


def _local(ts: int, local: tzinfo) -> str:
    return datetime.fromtimestamp(ts, local).isoformat()
