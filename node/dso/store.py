"""The node's file of DSO figures (SQLite, WAL): Wh per metering point, quarter-hour and quantity.

Importing writes in batches through a temporary table, so that one statement tells new, changed
and unchanged values apart and one upsert stores them: the same file twice adds nothing, and a
value the DSO corrected replaces the old one.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

from node.dso.quantities import Figure, Quantity
from node.sqlite import open_database, transaction

FILE_NAME = "dso.sqlite"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS points (
    id INTEGER PRIMARY KEY,
    point TEXT NOT NULL UNIQUE
);
CREATE TABLE IF NOT EXISTS figures (
    point INTEGER NOT NULL REFERENCES points(id),
    quantity INTEGER NOT NULL,
    start INTEGER NOT NULL,
    wh INTEGER NOT NULL,
    flags INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (point, quantity, start)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS imports (
    id INTEGER PRIMARY KEY,
    at INTEGER NOT NULL,
    file TEXT NOT NULL,
    format TEXT NOT NULL,
    rows INTEGER NOT NULL,
    stored INTEGER NOT NULL,
    unchanged INTEGER NOT NULL,
    changed INTEGER NOT NULL,
    refused INTEGER NOT NULL
)
"""
_INCOMING = """CREATE TEMP TABLE IF NOT EXISTS incoming (
    point INTEGER NOT NULL, quantity INTEGER NOT NULL, start INTEGER NOT NULL, wh INTEGER NOT NULL,
    flags INTEGER NOT NULL, PRIMARY KEY (point, quantity, start)) WITHOUT ROWID"""


def dso_path(config) -> Path:
    """The DSO file of a node (its node.toml's data_dir), beside the meter store and the mirror."""
    return config.data_dir / FILE_NAME


@dataclass
class Written:
    """What storing a batch did: values new to the file, replaced by another value, already there."""

    stored: int = 0
    changed: int = 0
    unchanged: int = 0

    def __iadd__(self, other: "Written") -> "Written":
        self.stored += other.stored
        self.changed += other.changed
        self.unchanged += other.unchanged
        return self


@dataclass(frozen=True, slots=True)
class StoredFigure:
    wh: int
    flags: int


class DsoStore:
    """The DSO figures of one node's community (or household). Use as a context manager."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.db = open_database(self.path, _SCHEMA)
        self.db.execute(_INCOMING)
        self._points = dict(self.db.execute("SELECT point, id FROM points"))

    def __enter__(self) -> "DsoStore":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self.db.close()

    # -- writing ---------------------------------------------------------------------------

    def write(self, figures: Iterable[Figure]) -> Written:
        """Store a batch in one transaction; a later figure for the same key in the batch wins."""
        with transaction(self.db):
            rows = [(self._point_id(f.point), int(f.quantity), f.start, f.wh, f.flags) for f in figures]
            self.db.executemany("INSERT OR REPLACE INTO incoming VALUES (?, ?, ?, ?, ?)", rows)
            total, new, changed = self.db.execute(
                "SELECT count(*), coalesce(sum(f.wh IS NULL), 0),"
                " coalesce(sum(f.wh IS NOT NULL AND (f.wh != i.wh OR f.flags != i.flags)), 0)"
                " FROM incoming i LEFT JOIN figures f"
                " ON f.point = i.point AND f.quantity = i.quantity AND f.start = i.start"
            ).fetchone()
            if new or changed:
                self.db.execute(
                    "INSERT INTO figures (point, quantity, start, wh, flags)"
                    " SELECT point, quantity, start, wh, flags FROM incoming WHERE true"
                    " ON CONFLICT (point, quantity, start) DO UPDATE SET wh = excluded.wh, flags = excluded.flags"
                    " WHERE wh != excluded.wh OR flags != excluded.flags"
                )
            self.db.execute("DELETE FROM incoming")
        return Written(new, changed, total - new - changed)

    def record_import(self, file: str, file_format: str, rows: int, written: Written, refused: int) -> None:
        with transaction(self.db):
            self.db.execute(
                "INSERT INTO imports (at, file, format, rows, stored, unchanged, changed, refused)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [int(time.time()), file, file_format, rows, written.stored, written.unchanged, written.changed, refused],
            )

    def _point_id(self, point: str) -> int:
        key = self._points.get(point)
        if key is None:
            self.db.execute("INSERT OR IGNORE INTO points (point) VALUES (?)", [point])
            key = self.db.execute("SELECT id FROM points WHERE point = ?", [point]).fetchone()[0]
            self._points[point] = key
        return key

    # -- reading ---------------------------------------------------------------------------

    def points(self) -> list[str]:
        """The metering points with figures, in the order they were first imported."""
        return [row[0] for row in self.db.execute(
            "SELECT point FROM points WHERE EXISTS (SELECT 1 FROM figures WHERE figures.point = points.id) ORDER BY id")]

    def figures(self, points: Sequence[str], first: int, stop: int) -> dict[int, dict[Quantity, StoredFigure]]:
        """start -> quantity -> figure for quarter-hours in [first, stop), summed over `points` (a
        household with a consumption and a generation point), flags joined."""
        ids = [self._points[p] for p in points if p in self._points]
        out: dict[int, dict[Quantity, StoredFigure]] = {}
        if not ids:
            return out
        marks = ", ".join("?" * len(ids))
        for quantity, start, wh, flags in self.db.execute(
            f"SELECT quantity, start, sum(wh), max(flags & 1) | max(flags & 2) FROM figures"
            f" WHERE point IN ({marks}) AND start >= ? AND start < ? GROUP BY quantity, start",
            [*ids, first, stop],
        ):
            out.setdefault(start, {})[Quantity(quantity)] = StoredFigure(wh, flags)
        return out

    def count(self) -> int:
        return self.db.execute("SELECT count(*) FROM figures").fetchone()[0]
