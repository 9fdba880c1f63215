"""The DApp's own SQLite file: the operator's password hash, the operator's sessions, the data-access
log, seen request nonces."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from node.sqlite import open_database, transaction

_SCHEMA = """
CREATE TABLE IF NOT EXISTS operator (id INTEGER PRIMARY KEY CHECK (id = 1), password_hash TEXT NOT NULL, changed_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS access_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at REAL NOT NULL,
    requester TEXT,
    scope INTEGER,
    first_ts INTEGER,
    last_ts INTEGER,
    outcome TEXT NOT NULL,
    detail TEXT NOT NULL,
    rows INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS seen_nonces (nonce TEXT PRIMARY KEY, requester TEXT NOT NULL, expires_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS sessions (digest TEXT PRIMARY KEY, created_at REAL NOT NULL, expires_at REAL NOT NULL);
"""


def _digest(session_id: str) -> str:
    """Sessions are kept by their SHA-256: the file alone does not give a usable session id."""
    return hashlib.sha256(session_id.encode()).hexdigest()


@dataclass(frozen=True)
class Access:
    """One data request another node made, and what this node answered."""

    id: int
    at: float
    requester: str | None
    scope: int | None
    first_ts: int | None
    last_ts: int | None
    outcome: str  # "served" or "refused"
    detail: str
    rows: int


class DappDB:
    def __init__(self, path: str | Path):
        self.db = open_database(Path(path), _SCHEMA, synchronous="FULL")

    def close(self) -> None:
        self.db.close()

    # -- the operator's password ------------------------------------------------------------

    def password_hash(self) -> str | None:
        row = self.db.execute("SELECT password_hash FROM operator WHERE id = 1").fetchone()
        return row[0] if row else None

    def set_password_hash(self, value: str, at: float) -> None:
        """A new password ends every session: a cookie captured before the change no longer works."""
        with transaction(self.db):
            self.db.execute("INSERT OR REPLACE INTO operator VALUES (1, ?, ?)", [value, at])
            self.db.execute("DELETE FROM sessions")

    # -- the operator's sessions (the cookie carries only the random id) --------------------

    def start_session(self, session_id: str, now: float, lifetime: float) -> None:
        with transaction(self.db):
            self.db.execute("DELETE FROM sessions WHERE expires_at <= ?", [now])
            self.db.execute("INSERT OR REPLACE INTO sessions VALUES (?, ?, ?)", [_digest(session_id), now, now + lifetime])

    def session_valid(self, session_id: str, now: float) -> bool:
        row = self.db.execute("SELECT expires_at FROM sessions WHERE digest = ?", [_digest(session_id)]).fetchone()
        return row is not None and row[0] > now

    def end_session(self, session_id: str) -> None:
        self.db.execute("DELETE FROM sessions WHERE digest = ?", [_digest(session_id)])

    def end_all_sessions(self) -> None:
        self.db.execute("DELETE FROM sessions")

    # -- consent-gated data API ------------------------------------------------------------

    def log_access(self, at: float, requester: str | None, scope: int | None, first_ts: int | None,
                   last_ts: int | None, outcome: str, detail: str, rows: int = 0) -> None:
        self.db.execute(
            "INSERT INTO access_log (at, requester, scope, first_ts, last_ts, outcome, detail, rows)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [at, requester, scope, first_ts, last_ts, outcome, detail, rows],
        )

    def accesses(self, limit: int = 50) -> list[Access]:
        rows = self.db.execute("SELECT * FROM access_log ORDER BY id DESC LIMIT ?", [limit])
        return [Access(*row) for row in rows]

    def use_nonce(self, nonce: str, requester: str, expires_at: int, now: float) -> bool:
        """True the first time a nonce is seen; False for a replay. Expired nonces are forgotten
        (a request past its expiry is refused before its nonce is looked at)."""
        with transaction(self.db):
            self.db.execute("DELETE FROM seen_nonces WHERE expires_at < ?", [int(now) - 1])
            if self.db.execute("SELECT 1 FROM seen_nonces WHERE nonce = ?", [nonce]).fetchone():
                return False
            self.db.execute("INSERT INTO seen_nonces VALUES (?, ?, ?)", [nonce, requester, expires_at])
        return True
