"""Keeps the node's parts running: each in its own thread, rebuilt with backoff when it dies."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Callable, Protocol

from node.errors import NodeError

log = logging.getLogger(__name__)


class Stepper(Protocol):
    """What a part builds: something to call every period, and to close when it stops or dies."""

    def step(self) -> object: ...

    def close(self) -> None: ...


@dataclass
class PartStatus:
    name: str
    running: bool = False
    restarts: int = 0
    steps: int = 0
    last_error: str | None = None
    last_step_at: float | None = None


@dataclass
class Part:
    """A named part of the node. `build` makes a fresh Stepper (new connections, new files)."""

    name: str
    build: Callable[[], Stepper]
    period: float
    status: PartStatus = field(init=False)

    def __post_init__(self) -> None:
        self.status = PartStatus(self.name)


class Supervisor:
    """Runs parts until `stop()`; a part that raises is logged, closed, and rebuilt after a backoff."""

    def __init__(self, parts: list[Part], backoff: tuple[float, float] = (1.0, 30.0), wall: Callable[[], float] = time.time):
        self.parts = parts
        self.backoff = backoff
        self.wall = wall
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        for part in self.parts:
            thread = threading.Thread(target=self._run, args=(part,), name=f"part-{part.name}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self, timeout: float = 10.0) -> None:
        self._stopping.set()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    def wait(self, seconds: float) -> bool:
        """Sleep unless stopped; True if stopped."""
        return self._stopping.wait(seconds)

    def _run(self, part: Part) -> None:
        delay = self.backoff[0]
        while not self.stopping:
            stepper = None
            try:
                stepper = part.build()
                part.status.running = True
                recovering = part.status.last_error is not None
                while not self.stopping:
                    stepper.step()
                    part.status.steps += 1
                    part.status.last_step_at = self.wall()
                    if recovering:
                        log.warning("%s running again", part.name)
                        part.status.last_error = None
                        recovering = False
                    delay = self.backoff[0]
                    if self.wait(part.period):
                        break
            except Exception as error:  # a dying part must not take the node down
                part.status.restarts += 1
                message = f"{type(error).__name__}: {error}"[:300]
                repeated = message == part.status.last_error
                part.status.last_error = message
                if repeated:
                    log.debug("%s still failing: %s", part.name, error)  # said once already
                elif isinstance(error, (NodeError, OSError)):  # OSError: requests' connection errors too
                    log.warning("%s stopped: %s; restarting in %.0f s", part.name, error, delay)
                else:
                    log.exception("%s crashed; restarting in %.0f s", part.name, delay)
            finally:
                part.status.running = False
                if stepper is not None:
                    _close_quietly(part.name, stepper)
            if self.wait(delay):
                break
            delay = min(delay * 2, self.backoff[1])


def _close_quietly(name: str, stepper: Stepper) -> None:
    try:
        stepper.close()
    except Exception:
        log.exception("%s did not close cleanly", name)
