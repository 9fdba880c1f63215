"""Node time: the real clock, or accelerated simulated time for demos and tests."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable


@dataclass(frozen=True)
class SimulatedClock:
    """Simulated unix time running `factor` times faster than `wall`, equal to `start` at `wall_start`.

    Every process of a demo computes the same time from the same three numbers, so five nodes and
    the chain's time keeper agree without talking to each other.
    """

    factor: float
    start: float
    wall_start: float
    wall: Callable[[], float] = time.time

    def __call__(self) -> float:
        return self.start + (self.wall() - self.wall_start) * self.factor
