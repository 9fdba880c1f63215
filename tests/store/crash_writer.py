"""Writes steady readings into a store until killed; run by test_crash.py as a separate process.

Usage: python crash_writer.py DB_PATH START_UNIX_TIME
Prints one line per written batch so the test knows writes are under way.
"""

import sys

from node.store import MeterStore, Sample, StoreSettings


def main(path: str, start: int) -> None:
    now = [float(start)]
    store = MeterStore(path, StoreSettings(batch_size=50, flush_every=1e9, retention=3600), clock=lambda: now[0])
    latest = store.latest()
    ts = latest.ts + 10 if latest else start
    import_wh = latest.import_wh + 2 if latest else 1000
    written = 0
    while True:
        now[0] = ts
        store.add_sample(Sample(ts, "E0044007", import_wh, 0, 720, 0))
        written += 1
        if written % 50 == 0:
            print(ts, flush=True)
        ts += 10
        import_wh += 2


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
