"""The mirror's SQLite file: events, the hashes of recent blocks, and the cursor."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from node.sqlite import open_database, transaction

_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    block_number INTEGER NOT NULL,
    log_index INTEGER NOT NULL,
    block_hash TEXT NOT NULL,
    block_time INTEGER NOT NULL,
    tx_hash TEXT NOT NULL,
    contract TEXT NOT NULL,
    event TEXT NOT NULL,
    args TEXT NOT NULL,
    PRIMARY KEY (block_number, log_index)
);
CREATE INDEX IF NOT EXISTS events_by_name ON events (event, block_number);
CREATE INDEX IF NOT EXISTS events_by_contract_event ON events (contract, event, block_number);
CREATE INDEX IF NOT EXISTS events_by_interval ON events (event, json_extract(args, '$.interval'));
-- One member's readings and settlements of a month (the DSO check), without decoding everyone's.
CREATE INDEX IF NOT EXISTS events_by_member_interval ON events
    (event, json_extract(args, '$.memberId'), json_extract(args, '$.interval'))
    WHERE json_extract(args, '$.memberId') IS NOT NULL;
CREATE TABLE IF NOT EXISTS blocks (number INTEGER PRIMARY KEY, hash TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS mirror_meta (key TEXT PRIMARY KEY, value INTEGER);
"""


@dataclass(frozen=True)
class MirroredEvent:
    """One contract event as mirrored; `args` as decoded (addresses checksummed, bytes as 0x hex)."""

    block_number: int
    log_index: int
    block_hash: str
    block_time: int
    tx_hash: str
    contract: str
    event: str
    args: dict


class MirrorDB:
    """Read by the DApp and the node's parts; written by the one EventMirror."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.db = open_database(self.path, _SCHEMA)

    def close(self) -> None:
        self.db.close()

    # -- cursor and blocks ----------------------------------------------------------------

    def meta(self, key: str) -> int | None:
        row = self.db.execute("SELECT value FROM mirror_meta WHERE key = ?", [key]).fetchone()
        return row[0] if row else None

    @property
    def cursor(self) -> int | None:
        """The last block whose events are all mirrored."""
        return self.meta("cursor")

    def block_hash(self, number: int) -> str | None:
        row = self.db.execute("SELECT hash FROM blocks WHERE number = ?", [number]).fetchone()
        return row[0] if row else None

    def append(self, events: Iterable[MirroredEvent], block_hashes: dict[int, str], cursor: int, keep_blocks: int) -> None:
        """Add a batch of events and move the cursor, in one transaction."""
        with transaction(self.db):
            self.db.executemany(
                "INSERT OR REPLACE INTO events VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (e.block_number, e.log_index, e.block_hash, e.block_time, e.tx_hash, e.contract, e.event,
                     json.dumps(e.args))
                    for e in events
                ],
            )
            self.db.executemany("INSERT OR REPLACE INTO blocks VALUES (?, ?)", block_hashes.items())
            self.db.execute("DELETE FROM blocks WHERE number <= ?", [cursor - keep_blocks])
            self._set("cursor", cursor)

    def rewind(self, to_block: int) -> int:
        """Forget everything after `to_block` (a reorg replaced it); returns the events dropped."""
        with transaction(self.db):
            dropped = self.db.execute("DELETE FROM events WHERE block_number > ?", [to_block]).rowcount
            self.db.execute("DELETE FROM blocks WHERE number > ?", [to_block])
            self._set("cursor", to_block)
            self._set("reorgs", (self.meta("reorgs") or 0) + 1)
        return dropped

    def _set(self, key: str, value: int) -> None:
        self.db.execute(
            "INSERT INTO mirror_meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            [key, value],
        )

    # -- reading --------------------------------------------------------------------------

    def events(
        self,
        event: str | None = None,
        contract: str | None = None,
        where: dict[str, object] | None = None,
        since_block: int = 0,
        limit: int | None = None,
        newest_first: bool = False,
    ) -> list[MirroredEvent]:
        """Mirrored events, oldest first; `where` matches decoded arguments exactly."""
        clauses, params = ["block_number >= ?"], [since_block]
        if event:
            clauses.append("event = ?")
            params.append(event)
        if contract:
            clauses.append("contract = ?")
            params.append(contract)
        for name, value in (where or {}).items():
            clauses.append(f"json_extract(args, '$.{_argument(name)}') = ?")  # a literal path, as indexes have it
            params.append(value)
        order = "DESC" if newest_first else "ASC"
        sql = (
            "SELECT block_number, log_index, block_hash, block_time, tx_hash, contract, event, args FROM events"
            f" WHERE {' AND '.join(clauses)} ORDER BY block_number {order}, log_index {order}"
        )
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        return [MirroredEvent(*row[:7], json.loads(row[7])) for row in self.db.execute(sql, params)]

    def interval_events(
        self, event: str, first: int, last: int, where: dict[str, object] | None = None
    ) -> list[MirroredEvent]:
        """Events `event` whose `interval` argument lies in [first, last], in chain order (indexed:
        the bill and community pages read a day or a month out of a year of settlements)."""
        clauses, params = ["event = ?", "json_extract(args, '$.interval') BETWEEN ? AND ?"], [event, first, last]
        for name, value in (where or {}).items():
            clauses.append(f"json_extract(args, '$.{_argument(name)}') = ?")  # a literal path, as indexes have it
            params.append(value)
        sql = (
            "SELECT block_number, log_index, block_hash, block_time, tx_hash, contract, event, args FROM events"
            f" WHERE {' AND '.join(clauses)} ORDER BY block_number, log_index"
        )
        return [MirroredEvent(*row[:7], json.loads(row[7])) for row in self.db.execute(sql, params)]

    def interval_values(self, event: str, first: int, last: int, fields: tuple[str, ...],
                        where: dict[str, object] | None = None) -> list[tuple]:
        """(block number, log index, *fields) of the `event`s whose `interval` lies in [first, last], in
        chain order: SQLite reads the few fields, so a month of one member's settlements is not decoded
        whole (the DSO check of a month read 9,000 events' JSON)."""
        columns = "".join(f", json_extract(args, '$.{_argument(name)}')" for name in fields)
        clauses, params = ["event = ?", "json_extract(args, '$.interval') BETWEEN ? AND ?"], [event, first, last]
        for name, value in (where or {}).items():
            clauses.append(f"json_extract(args, '$.{_argument(name)}') = ?")
            params.append(value)
        sql = (f"SELECT block_number, log_index{columns} FROM events WHERE {' AND '.join(clauses)}"
               " ORDER BY block_number, log_index")
        return self.db.execute(sql, params).fetchall()

    def interval_sums(self, event: str, first: int, last: int, fields: tuple[str, ...]) -> dict[int, tuple]:
        """Per `interval` argument in [first, last], the sums of the `event`s' `fields`, added up by SQLite
        (a forecast reads weeks of every member's readings: decoding each in Python took most of its time)."""
        sums = "".join(", sum(json_extract(args, ?))" for _ in fields)
        rows = self.db.execute(
            f"SELECT json_extract(args, '$.interval'){sums} FROM events"
            " WHERE event = ? AND json_extract(args, '$.interval') BETWEEN ? AND ? GROUP BY 1",
            [*(f"$.{field}" for field in fields), event, first, last],
        )
        return {row[0]: row[1:] for row in rows}

    def interval_event_count(self, event: str, first: int, last: int) -> int:
        """How many `event`s have an `interval` argument in [first, last] (answered from the index)."""
        return self.db.execute(
            "SELECT count(*) FROM events WHERE event = ? AND json_extract(args, '$.interval') BETWEEN ? AND ?",
            [event, first, last],
        ).fetchone()[0]

    def count(self) -> int:
        return self.db.execute("SELECT count(*) FROM events").fetchone()[0]


def _argument(name: str) -> str:
    """An event argument's name, checked before it becomes part of the SQL text."""
    if not name.isidentifier():
        raise ValueError(f"not an event argument name: {name!r}")
    return name
