"""The persistent outbox of interval readings waiting to go on chain (SQLite, WAL).

An interval enters once (its start is the key), leaves the queue only when the chain holds its
reading or can no longer take it, and records a transaction's hash *before* it is broadcast, so a
node killed at any point can tell on restart what may already be on its way.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from node.sqlite import open_database, transaction

QUEUED, SENDING, ON_CHAIN, NO_DATA, MISSED = "queued", "sending", "on_chain", "no_data", "missed"
REFUSED = "refused"  # beyond the member's physical limits: not submitted, the interval counts as zero
WAITING = (QUEUED, SENDING)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    interval INTEGER PRIMARY KEY,
    import_wh INTEGER,
    export_wh INTEGER,
    complete INTEGER NOT NULL,
    state TEXT NOT NULL,
    queued_at REAL NOT NULL,
    tx_hash TEXT,
    nonce INTEGER,
    attempts INTEGER NOT NULL DEFAULT 0,
    note TEXT,
    done_at REAL
);
CREATE INDEX IF NOT EXISTS outbox_waiting ON outbox (state, interval);
CREATE TABLE IF NOT EXISTS outbox_meta (key TEXT PRIMARY KEY, value INTEGER);
"""


@dataclass(frozen=True)
class Entry:
    """One interval's reading in the outbox."""

    interval: int
    import_wh: int | None
    export_wh: int | None
    complete: bool
    state: str
    queued_at: float
    tx_hash: str | None
    nonce: int | None
    attempts: int
    note: str | None
    done_at: float | None


class Outbox:
    """Interval readings in submission order. One writer (the node's submitter) per file."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        # FULL: an entry marked on its way must survive a power cut, not only a killed process.
        self.db = open_database(self.path, _SCHEMA, synchronous="FULL")

    def close(self) -> None:
        self.db.close()

    # -- queueing -------------------------------------------------------------------------

    @property
    def queued_until(self) -> int | None:
        """The first interval not yet examined for queueing (None before the first)."""
        row = self.db.execute("SELECT value FROM outbox_meta WHERE key = 'queued_until'").fetchone()
        return row[0] if row else None

    def enqueue(self, interval: int, import_wh: int | None, export_wh: int | None, complete: bool, at: float) -> None:
        """Queue one interval's reading (an interval without data is kept as a record, not sent)."""
        state = QUEUED if import_wh is not None and export_wh is not None else NO_DATA
        with transaction(self.db):
            self.db.execute(
                "INSERT OR IGNORE INTO outbox (interval, import_wh, export_wh, complete, state, queued_at, done_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                [interval, import_wh, export_wh, int(complete), state, at, at if state == NO_DATA else None],
            )
            self.db.execute(
                "INSERT INTO outbox_meta (key, value) VALUES ('queued_until', ?)"
                " ON CONFLICT(key) DO UPDATE SET value = max(value, excluded.value)",
                [interval + 1],
            )

    def start_at(self, interval: int, interval_length: int) -> None:
        """Begin queueing at `interval` (a new node does not submit the past), once the community's
        interval length is known; the queue then runs even while the chain is unreachable."""
        self.db.execute("INSERT OR IGNORE INTO outbox_meta (key, value) VALUES ('queued_until', ?)", [interval])
        self.db.execute("INSERT OR IGNORE INTO outbox_meta (key, value) VALUES ('interval_length', ?)", [interval_length])

    @property
    def interval_length(self) -> int | None:
        row = self.db.execute("SELECT value FROM outbox_meta WHERE key = 'interval_length'").fetchone()
        return row[0] if row else None

    # -- sending --------------------------------------------------------------------------

    def head(self) -> Entry | None:
        """The oldest interval still waiting to go on chain."""
        row = self.db.execute(
            f"SELECT * FROM outbox WHERE state IN {WAITING} ORDER BY interval LIMIT 1"
        ).fetchone()
        return Entry(*row) if row else None

    def mark_sending(self, interval: int, tx_hash: str, nonce: int) -> None:
        self.db.execute(
            "UPDATE outbox SET state = ?, tx_hash = ?, nonce = ?, attempts = attempts + 1 WHERE interval = ?",
            [SENDING, tx_hash, nonce, interval],
        )

    def finish(self, interval: int, state: str, at: float, note: str | None = None) -> None:
        self.db.execute(
            "UPDATE outbox SET state = ?, done_at = ?, note = coalesce(?, note) WHERE interval = ?",
            [state, at, note, interval],
        )

    def note(self, interval: int, note: str) -> None:
        """Remember why the interval is still waiting (shown by `node status` and the DApp)."""
        self.db.execute("UPDATE outbox SET note = ? WHERE interval = ?", [note, interval])

    # -- reading --------------------------------------------------------------------------

    def depth(self) -> int:
        return self.db.execute(f"SELECT count(*) FROM outbox WHERE state IN {WAITING}").fetchone()[0]

    def entry(self, interval: int) -> Entry | None:
        row = self.db.execute("SELECT * FROM outbox WHERE interval = ?", [interval]).fetchone()
        return Entry(*row) if row else None

    def entries(self, limit: int = 100) -> list[Entry]:
        """The newest entries, newest first."""
        return [Entry(*row) for row in self.db.execute("SELECT * FROM outbox ORDER BY interval DESC LIMIT ?", [limit])]

    def last_refused(self) -> Entry | None:
        """The latest interval held back as beyond the member's limits."""
        row = self.db.execute("SELECT * FROM outbox WHERE state = ? ORDER BY interval DESC LIMIT 1", [REFUSED]).fetchone()
        return Entry(*row) if row else None

    def count(self, state: str) -> int:
        return self.db.execute("SELECT count(*) FROM outbox WHERE state = ?", [state]).fetchone()[0]
