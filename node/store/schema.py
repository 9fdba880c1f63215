"""The local store's tables. Times are unix seconds (UTC); energy in Wh, power in W, as integers."""

from __future__ import annotations

import sqlite_utils

SCHEMA_VERSION = 1


def create(db: sqlite_utils.Database) -> None:
    """Create missing tables and indexes; safe to run on every open."""
    db.enable_wal()
    # NORMAL is durable against a killed process in WAL mode; only a power cut can undo the
    # last few commits, and never leaves the file inconsistent.
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("PRAGMA busy_timeout=5000")
    if "meters" not in db.table_names():
        db["meters"].create({"id": int, "meter_id": str}, pk="id", not_null={"meter_id"})
        db["meters"].create_index(["meter_id"], unique=True)
    if "readings" not in db.table_names():
        # One row per reading inside the retention window; older rows are thinned to the last
        # reading of each minute, with `samples` saying how many readings the power averages.
        db["readings"].create(
            {
                "ts": int,
                "meter": int,
                "import_wh": int,
                "export_wh": int,
                "import_w": int,
                "export_w": int,
                "samples": int,
            },
            pk="ts",
            defaults={"samples": 1},
        )
    if "intervals" not in db.table_names():
        db["intervals"].create(
            {
                "start": int,
                "local_day": int,
                "import_wh": int,
                "export_wh": int,
                "complete": int,
                "issues": str,
            },
            pk="start",
        )
    if "meta" not in db.table_names():
        db["meta"].create({"key": str, "value": int}, pk="key")
        db["meta"].insert({"key": "schema_version", "value": SCHEMA_VERSION})
