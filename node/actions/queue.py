"""The action queue (SQLite, WAL): the DApp writes requests, the node's parts carry them out.

The DApp never signs a transaction itself: the node account's nonce has a single owner, the node's
chain part. A request survives a restart of either side; its state tells the browser where it is.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

from node.sqlite import open_database, transaction

QUEUED, PENDING, CONFIRMED, FAILED = "queued", "pending", "confirmed", "failed"
OPEN = (QUEUED, PENDING)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS actions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    params TEXT NOT NULL,
    summary TEXT NOT NULL,
    state TEXT NOT NULL,
    requested_at REAL NOT NULL,
    tx_hash TEXT,
    block_number INTEGER,
    error TEXT,
    done_at REAL
);
CREATE INDEX IF NOT EXISTS actions_open ON actions (state, kind, id);
"""


@dataclass(frozen=True)
class Action:
    """One request from the operator and how far it got."""

    id: int
    kind: str
    params: dict
    summary: str
    state: str
    requested_at: float
    tx_hash: str | None
    block_number: int | None
    error: str | None
    done_at: float | None

    @property
    def done(self) -> bool:
        return self.state not in OPEN


class ActionQueue:
    """Requests in order. The DApp adds them; one node part per kind carries them out."""

    def __init__(self, path: str | Path, clock: Callable[[], float]):
        self.path = Path(path)
        self.clock = clock
        self.db = open_database(self.path, _SCHEMA, synchronous="FULL")

    def close(self) -> None:
        self.db.close()

    def request(self, kind: str, params: dict, summary: str) -> int:
        cursor = self.db.execute(
            "INSERT INTO actions (kind, params, summary, state, requested_at) VALUES (?, ?, ?, ?, ?)",
            [kind, json.dumps(params), summary, QUEUED, self.clock()],
        )
        return cursor.lastrowid

    def get(self, action_id: int) -> Action | None:
        row = self.db.execute("SELECT * FROM actions WHERE id = ?", [action_id]).fetchone()
        return _action(row) if row else None

    def recent(self, limit: int = 20, kinds: Iterable[str] | None = None) -> list[Action]:
        """Newest first."""
        if kinds is None:
            rows = self.db.execute("SELECT * FROM actions ORDER BY id DESC LIMIT ?", [limit])
        else:
            kinds = list(kinds)
            marks = ",".join("?" * len(kinds))
            rows = self.db.execute(
                f"SELECT * FROM actions WHERE kind IN ({marks}) ORDER BY id DESC LIMIT ?", [*kinds, limit]
            )
        return [_action(row) for row in rows]

    def open_actions(self, kinds: Iterable[str]) -> list[Action]:
        """Queued and pending actions of these kinds, oldest first."""
        kinds = list(kinds)
        marks = ",".join("?" * len(kinds))
        rows = self.db.execute(
            f"SELECT * FROM actions WHERE state IN (?, ?) AND kind IN ({marks}) ORDER BY id", [*OPEN, *kinds]
        )
        return [_action(row) for row in rows]

    def mark_pending(self, action_id: int, tx_hash: str) -> None:
        self.db.execute("UPDATE actions SET state = ?, tx_hash = ? WHERE id = ?", [PENDING, tx_hash, action_id])

    def confirm(self, action_id: int, block_number: int | None = None) -> None:
        self._finish(action_id, CONFIRMED, None, block_number)

    def fail(self, action_id: int, error: str) -> None:
        self._finish(action_id, FAILED, error, None)

    def _finish(self, action_id: int, state: str, error: str | None, block_number: int | None) -> None:
        with transaction(self.db):
            self.db.execute(
                "UPDATE actions SET state = ?, error = ?, block_number = COALESCE(?, block_number), done_at = ? "
                "WHERE id = ? AND state IN (?, ?)",
                [state, error, block_number, self.clock(), action_id, *OPEN],
            )


def _action(row) -> Action:
    return Action(row[0], row[1], json.loads(row[2]), *row[3:])
