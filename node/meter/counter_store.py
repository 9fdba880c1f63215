"""The DLMS frame (invocation) counters the reader accepted, kept in a file across restarts.

Replay protection refuses a frame whose counter is not above the last one accepted from its meter
(by system title). Held only in memory, that protection would end with every restart: a recorded
frame played back to a freshly started node would be taken. So the counters go to a small JSON
file in the node's data directory:

- written atomically (a temporary file, fsync, rename), so a crash leaves the old file or the new
  one, never half of one;
- written rarely: when a counter advanced, at most every `every` seconds, and at close. A Pi's SD
  card would not last a write per frame.

The price of writing rarely: after a crash (no close), frames accepted in the last `every`
seconds before it are above the saved counters and would be taken once more if replayed. Frames
at or below the saved counters are refused after any restart.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path
from typing import Callable, Mapping

from node.meter.errors import MeterSetupError

_VERSION = 1
_MAX_COUNTER = 0xFFFFFFFF  # the frame counter is four bytes


class FrameCounterStore:
    """Loads and saves {system title hex: last accepted frame counter} at `path`."""

    def __init__(self, path: str | Path, clock: Callable[[], float] = time.monotonic, every: float = 60.0):
        self.path = Path(path)
        self.every = every
        self._clock = clock
        self._saved: dict[str, int] = {}
        self._saved_at: float | None = None
        self.last_error: str | None = None  # why the last save failed, for the operator

    def load(self) -> dict[str, int]:
        """The counters saved by an earlier run ({} if there is no file yet).

        A file that is there but unreadable raises MeterSetupError: starting with no counters
        would silently give up replay protection, so the operator decides (fix or delete it).
        """
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {}
        except (OSError, UnicodeDecodeError) as error:
            raise MeterSetupError(f"cannot read the frame counter file {self.path}: {error}", str(self.path)) from None
        counters = _parsed(text)
        if counters is None:
            raise MeterSetupError(
                f"the frame counter file {self.path} is damaged: delete it to start replay protection afresh",
                str(self.path),
            )
        self._saved = dict(counters)
        return counters

    def save(self, counters: Mapping[str, int], force: bool = False) -> bool:
        """Write `counters` if they advanced and the last write is `every` seconds old (or `force`).

        True if written. A failed write is kept in `last_error` and tried again next time: a full
        disk must not stop the meter being read.
        """
        if dict(counters) == self._saved:
            return False
        now = self._clock()
        if not force and self._saved_at is not None and now - self._saved_at < self.every:
            return False
        try:
            self._write(counters)
        except OSError as error:
            self.last_error = f"cannot write the frame counter file {self.path}: {error.strerror or error}"
            return False
        self._saved = dict(counters)
        self._saved_at = now
        self.last_error = None
        return True

    def close(self, counters: Mapping[str, int]) -> bool:
        """The last write, whatever the time since the one before."""
        return self.save(counters, force=True)

    def _write(self, counters: Mapping[str, int]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps({"version": _VERSION, "frame_counters": dict(sorted(counters.items()))}, indent=1)
        descriptor, temporary = tempfile.mkstemp(prefix=f".{self.path.name}.", dir=self.path.parent)
        try:
            with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
                handle.write(text + "\n")
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, self.path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        # The rename itself is durable only once the directory is synced.
        directory = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)


def _parsed(text: str) -> dict[str, int] | None:
    try:
        data = json.loads(text)
    except ValueError:
        return None
    if not isinstance(data, dict) or data.get("version") != _VERSION:
        return None
    counters = data.get("frame_counters")
    if not isinstance(counters, dict):
        return None
    for title, counter in counters.items():
        if not isinstance(title, str) or isinstance(counter, bool) or not isinstance(counter, int):
            return None
        if not 0 <= counter <= _MAX_COUNTER:
            return None
    return counters
