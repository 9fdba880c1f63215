"""Where simulated telegrams go (a pseudo-terminal or a file) and how fast."""

from __future__ import annotations

import itertools
import os
import time
import tty
from typing import BinaryIO, Callable, Iterable


class PtyLine:
    """The meter end of a pseudo-terminal: readers open `path` like a serial port.

    Like a real meter, it sends whether or not anyone listens: bytes that do not fit (nobody
    reading) are dropped and counted, never queued.
    """

    def __init__(self) -> None:
        self.master, slave = os.openpty()
        tty.setraw(slave)
        self.path = os.ttyname(slave)
        os.close(slave)
        os.set_blocking(self.master, False)
        self.dropped_bytes = 0

    def write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            try:
                written = os.write(self.master, view)
            except (BlockingIOError, OSError):
                self.dropped_bytes += len(view)
                return
            view = view[written:]

    def close(self) -> None:
        os.close(self.master)


class FileLine:
    """Appends telegrams to a file (or any binary stream), flushing after each."""

    def __init__(self, stream: BinaryIO):
        self.stream = stream

    def write(self, data: bytes) -> None:
        self.stream.write(data)
        self.stream.flush()


def pace(
    frames: Iterable[tuple[object, bytes]],
    write: Callable[[bytes], None],
    interval: float,
    speed: float,
    count: int | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], object] = time.sleep,
) -> int:
    """Write `count` frames (all if None), one per `interval / speed` seconds; speed 0 = no waiting.

    Frames are due on a fixed schedule from the start, so slow writes do not make the clock drift.
    Returns how many were written.
    """
    started = clock()
    written = 0
    # islice, not a check inside the loop: that would pull (and lose) one frame too many.
    for _moment, data in itertools.islice(frames, count):
        if speed > 0:
            delay = started + (written + 1) * interval / speed - clock()
            if delay > 0:
                sleep(delay)
        write(data)
        written += 1
    return written
