"""The demo households' meters: each sends DSMR 5 telegrams on its own pseudo-terminal, as a real meter
sends them down its P1 cable, at the community's accelerated pace."""

from __future__ import annotations

import logging
import threading
from datetime import timedelta
from typing import Callable

from node.meter.simulator.meter import SimulatedMeter
from node.meter.simulator.output import PtyLine

log = logging.getLogger(__name__)


class PtyMeters:
    """Simulated meters on pseudo-terminals, stepped up to `clock` by one thread."""

    def __init__(self, clock: Callable[[], float], tick: float = 0.05):
        self.clock = clock
        self.tick = tick
        self._meters: list[tuple[SimulatedMeter, PtyLine]] = []
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="demo-meters", daemon=True)

    def add(self, meter: SimulatedMeter) -> str:
        """Give `meter` a pseudo-terminal; returns the device path its node reads."""
        line = PtyLine()
        self._meters.append((meter, line))
        return line.path

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        while not self._stopped.wait(self.tick):
            now = self.clock()
            for meter, line in self._meters:
                step = timedelta(seconds=meter.interval)
                while (meter.moment + step).timestamp() <= now:
                    _moment, telegram = meter.step()
                    line.write(telegram)

    def stop(self) -> None:
        self._stopped.set()
        if self._thread.is_alive():
            self._thread.join()
        for _meter, line in self._meters:
            line.close()
        self._meters.clear()
