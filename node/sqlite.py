"""The node's SQLite files (store, outbox, mirror, relay journal): opened the same way, written in
short immediate transactions."""

from __future__ import annotations

import sqlite3
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator


def open_database(path: str | Path, schema: str, synchronous: str = "NORMAL") -> sqlite3.Connection:
    """Open (creating) a WAL database usable from the node's threads and apply `schema`.

    WAL with synchronous=NORMAL survives a killed process; only a power cut can undo the last few
    commits, and never leaves the file inconsistent. FULL also survives the power cut.
    """
    db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
    db.execute("PRAGMA busy_timeout=5000")
    _switch_to_wal(db)
    db.execute(f"PRAGMA synchronous={synchronous}")
    with transaction(db):
        for statement in schema.split(";"):
            if statement.strip():
                db.execute(statement)
    return db


def _switch_to_wal(db: sqlite3.Connection, patience: float = 5.0) -> None:
    """Two parts opening a new file at once: switching it to WAL answers "database is locked" at
    once, without the busy timeout, so the second waits here until the first has switched it."""
    deadline = time.monotonic() + patience
    while True:
        try:
            db.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


@contextmanager
def transaction(db: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """BEGIN IMMEDIATE ... COMMIT, or ROLLBACK if the block raises."""
    db.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")
