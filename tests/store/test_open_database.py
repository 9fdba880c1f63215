"""Opening the node's SQLite files: several parts may open a new file at the same moment."""

from __future__ import annotations

import threading

from node.sqlite import open_database


def test_parts_opening_a_new_database_at_once_all_get_it(tmp_path):
    failures = []
    for trial in range(200):
        path = tmp_path / f"new-{trial}.sqlite"

        def open_it():
            try:
                open_database(path, "CREATE TABLE IF NOT EXISTS t (a INTEGER)").close()
            except Exception as error:  # noqa: BLE001  (any failure is the finding)
                failures.append(repr(error))

        threads = [threading.Thread(target=open_it) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    assert failures == []
