"""What relays did and why: events to a Python logger and, optionally, a small SQLite journal.

The journal is what the DApp reads to show a relay's last switches with their reasons. It may
live in its own file or in the meter store's (its one table does not clash).
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Literal, Protocol

from node.sqlite import open_database, transaction

Source = Literal["rule", "manual", "fail-safe"]

LOGGER = logging.getLogger("node.relay")


@dataclass(frozen=True)
class SwitchEvent:
    """A relay switched (`switched`), or noted why it did not: held by a minimum time, a signal lost.

    `on` is the relay's state after the event.
    """

    relay: str
    at: datetime
    on: bool
    reason: str
    source: Source
    switched: bool = True

    def describe(self) -> str:
        verb = ("switched " if self.switched else "stays ") + ("on" if self.on else "off")
        return f"relay {self.relay} {verb} ({self.source}): {self.reason}"


class EventSink(Protocol):
    """Where a relay's events go."""

    def record(self, event: SwitchEvent) -> None: ...


class SwitchLog:
    """Sends every event to `logger` and, if given, to `journal`.

    A journal that cannot be written (disk full, locked) is reported to the logger and skipped:
    relays must keep switching whether or not their history can be kept.
    """

    def __init__(self, logger: logging.Logger = LOGGER, journal: "RelayJournal | None" = None):
        self.logger = logger
        self.journal = journal

    def record(self, event: SwitchEvent) -> None:
        self.logger.info("%s", event.describe())
        if self.journal is not None:
            try:
                self.journal.record(event)
            except sqlite3.Error:
                self.logger.exception("relay journal %s: could not record %s", self.journal.path, event.describe())


_SCHEMA = """
CREATE TABLE IF NOT EXISTS relay_switches (
    id INTEGER PRIMARY KEY,
    relay TEXT NOT NULL,
    at TEXT NOT NULL,          -- ISO 8601 with its UTC offset, as the event carried it
    state INTEGER NOT NULL,    -- 1 on, 0 off, after the event
    switched INTEGER NOT NULL, -- 0: the relay noted a reason without switching
    source TEXT NOT NULL,
    reason TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS relay_switches_by_relay ON relay_switches (relay, id);
"""


class RelayJournal:
    """The last `keep` events of each relay in SQLite (WAL), newest first through `recent()`.

    One connection, shared by threads under a lock: the node runtime writes while the DApp's
    request threads read. Another process may open the same file.
    """

    def __init__(self, path: str | Path, keep: int = 1000):
        if keep < 1:
            raise ValueError("the journal must keep at least one event per relay")
        self.path = Path(path)
        self.keep = keep
        self._lock = threading.Lock()
        self._db = open_database(self.path, _SCHEMA)
        self._closed = False

    def __enter__(self) -> "RelayJournal":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Close the file (again: nothing)."""
        with self._lock:
            if not self._closed:
                self._db.close()
                self._closed = True

    def record(self, event: SwitchEvent) -> None:
        with self._lock, transaction(self._db):
            self._db.execute(
                "INSERT INTO relay_switches (relay, at, state, switched, source, reason) VALUES (?, ?, ?, ?, ?, ?)",
                (event.relay, event.at.isoformat(), int(event.on), int(event.switched), event.source, event.reason),
            )
            self._db.execute(
                "DELETE FROM relay_switches WHERE relay = ? AND id <= "
                "(SELECT id FROM relay_switches WHERE relay = ? ORDER BY id DESC LIMIT 1 OFFSET ?)",
                (event.relay, event.relay, self.keep),
            )

    def recent(self, relay: str | None = None, limit: int = 20, switches_only: bool = False) -> list[SwitchEvent]:
        """The newest events first, of one relay or of all."""
        clauses, arguments = [], []
        if relay is not None:
            clauses.append("relay = ?")
            arguments.append(relay)
        if switches_only:
            clauses.append("switched = 1")
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        with self._lock:
            rows = self._db.execute(
                f"SELECT relay, at, state, switched, source, reason FROM relay_switches {where} ORDER BY id DESC LIMIT ?",
                (*arguments, limit),
            ).fetchall()
        return [
            SwitchEvent(name, datetime.fromisoformat(at), bool(state), reason, source, bool(switched))
            for name, at, state, switched, source, reason in rows
        ]
