"""The node's SQLite files (store, outbox, mirror, relay journal): opened the same way, written in
short immediate transactions, readable by the node's user only (0600 in a 0700 folder)."""

from __future__ import annotations

import os
import sqlite3
import stat
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator


def open_database(path: str | Path, schema: str, synchronous: str = "NORMAL") -> sqlite3.Connection:
    """Open (creating) a WAL database usable from the node's threads and apply `schema`.

    WAL with synchronous=NORMAL survives a killed process; only a power cut can undo the last few
    commits, and never leaves the file inconsistent. FULL also survives the power cut.
    """
    private_file(Path(path))  # SQLite gives its -wal and -shm files the database file's mode
    db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
    db.execute("PRAGMA busy_timeout=5000")
    _switch_to_wal(db)
    db.execute(f"PRAGMA synchronous={synchronous}")
    with transaction(db):
        for statement in schema.split(";"):
            if statement.strip():
                db.execute(statement)
    return db


def private_dir(path: Path) -> Path:
    """Make the folder (and its parents) if missing and keep it 0700, whatever the umask: the node's
    readings, session key and account data are for its own user only."""
    path.mkdir(parents=True, exist_ok=True)
    _tighten(path, 0o700)
    return path


def private_file(path: Path) -> Path:
    """Create the file 0600 if missing (umask-independent); an existing one readable by others, with
    its -wal and -shm files, is narrowed to 0600 when this user owns it."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        for each in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
            _tighten(each, 0o600)
    else:
        try:
            os.fchmod(fd, 0o600)
        finally:
            os.close(fd)
    return path


def _tighten(path: Path, mode: int) -> None:
    try:
        info = path.stat()
        if stat.S_IMODE(info.st_mode) & ~mode and info.st_uid == os.getuid():
            os.chmod(path, stat.S_IMODE(info.st_mode) & mode)
    except OSError:
        pass  # missing, or not ours: SQLite's own errors say more


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
