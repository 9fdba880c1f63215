"""kill -9 at any moment leaves a consistent database, and writing goes on from where it stopped."""

import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

from node.store.intervals import RegisterPoint, interval_rows

WRITER = Path(__file__).parent / "crash_writer.py"
ROOT = Path(__file__).resolve().parents[2]


def kill_writer_after(db: Path, start: int, batches: int) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    writer = subprocess.Popen([sys.executable, str(WRITER), str(db), str(start)], stdout=subprocess.PIPE, env=env)
    try:
        for _ in range(batches):
            assert writer.stdout.readline(), "the writer died on its own"
    finally:
        writer.send_signal(signal.SIGKILL)
        writer.wait()
        writer.stdout.close()


def check_consistent(db: Path) -> int:
    """Checks the file and returns the time of the newest reading in it."""
    connection = sqlite3.connect(db)
    try:
        assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        readings = connection.execute("SELECT ts, meter, import_wh, export_wh FROM readings ORDER BY ts").fetchall()
        registers = [row[2] for row in readings]
        assert registers == sorted(registers)
        recorded_until = connection.execute("SELECT value FROM meta WHERE key = 'intervals_until'").fetchone()[0]
        intervals = connection.execute("SELECT start, import_wh, complete FROM intervals ORDER BY start").fetchall()
        assert intervals and intervals[-1][0] < recorded_until
        # Intervals were committed with the readings that closed them: recomputing agrees.
        points = [RegisterPoint(*row) for row in readings]
        recomputed = interval_rows(points, intervals[0][0], recorded_until, 900, 60, 100_000)
        assert [(r.start, r.import_wh, int(r.complete)) for r in recomputed] == intervals
        return readings[-1][0]
    finally:
        connection.close()


def test_kill_9_while_writing_leaves_a_consistent_database_every_time(tmp_path):
    db = tmp_path / "meter.db"
    start = 1_717_372_800  # 2024-06-03 00:00 UTC
    newest = []
    for batches in (3, 1, 7, 2, 5, 4):
        kill_writer_after(db, start, batches)
        newest.append(check_consistent(db))

    # Each restart went on after the last committed reading.
    assert all(later > earlier for earlier, later in zip(newest, newest[1:]))
