"""The node's SQLite files (store, outbox, mirror, relay journal): opened the same way, written in
short immediate transactions."""

from __future__ import annotations

import sqlite3
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator


def open_database(path: str | Path, schema: str, synchronous: str = "NORMAL") -> sqlite3.Connection:
    """Open (creating) a WAL database usable from the node's threads and apply `schema`.

    WAL with synchronous=NORMAL survives a killed process; only a power cut can undo the last few
    commits, and never leaves the file inconsistent. FULL also survives the power cut.
    """
    db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute(f"PRAGMA synchronous={synchronous}")
    db.execute("PRAGMA busy_timeout=5000")
    with transaction(db):
        for statement in schema.split(";"):
            if statement.strip():
                db.execute(statement)
    return db


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
