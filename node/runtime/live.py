"""The newest meter sample, handed from the meter part to the DApp's live view as it arrives.

The store batches its writes, so the live view cannot wait for SQLite: the meter part publishes each
stored sample here and every open browser stream wakes up at once.
"""

from __future__ import annotations

import threading

from node.store.samples import Sample


class LiveSamples:
    """A sequence-numbered latest sample with waiting readers (thread-safe)."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._sample: Sample | None = None
        self._arrived_at: float | None = None
        self.sequence = 0

    def publish(self, sample: Sample, arrived_at: float) -> None:
        with self._changed:
            self._sample, self._arrived_at = sample, arrived_at
            self.sequence += 1
            self._changed.notify_all()

    def latest(self) -> tuple[int, Sample | None, float | None]:
        with self._changed:
            return self.sequence, self._sample, self._arrived_at

    def wait_after(self, sequence: int, timeout: float) -> tuple[int, Sample | None, float | None]:
        """The latest sample once it is newer than `sequence`, or the same one after `timeout`."""
        with self._changed:
            self._changed.wait_for(lambda: self.sequence != sequence, timeout)
            return self.sequence, self._sample, self._arrived_at
