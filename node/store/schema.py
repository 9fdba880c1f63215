"""The local store's tables. Times are unix seconds (UTC); energy in Wh, power in W, as integers.

Plain sqlite3 rather than sqlite-utils: sqlite-utils imports pandas and numpy whenever they are
installed (Ape installs them), which tripled the reader process's memory on a Raspberry Pi.
"""

from __future__ import annotations

import sqlite3

from node.sqlite import open_database

SCHEMA_VERSION = 1

_TABLES = """
CREATE TABLE IF NOT EXISTS meters (
    id INTEGER PRIMARY KEY,
    meter_id TEXT NOT NULL UNIQUE
);
-- One row per reading inside the retention window. Older rows are thinned to the last reading
-- of each minute, with `samples` saying how many readings their power averages.
CREATE TABLE IF NOT EXISTS readings (
    ts INTEGER PRIMARY KEY,
    meter INTEGER REFERENCES meters(id),
    import_wh INTEGER,
    export_wh INTEGER,
    import_w INTEGER,
    export_w INTEGER,
    samples INTEGER NOT NULL DEFAULT 1
);
CREATE TABLE IF NOT EXISTS intervals (
    start INTEGER PRIMARY KEY,
    local_day INTEGER NOT NULL,
    import_wh INTEGER,
    export_wh INTEGER,
    complete INTEGER NOT NULL,
    issues TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value INTEGER
);
"""


def connect(path: str) -> sqlite3.Connection:
    """Open the store in WAL mode, creating missing tables."""
    db = open_database(path, _TABLES)
    db.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('schema_version', ?)", [SCHEMA_VERSION])
    return db
