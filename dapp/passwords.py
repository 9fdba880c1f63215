"""The operator's password (scrypt hash) and the login throttle."""

from __future__ import annotations

import math
import threading
from typing import Callable

from werkzeug.security import check_password_hash, generate_password_hash

from dapp.errors import BadRequest

MIN_LENGTH = 10


def hash_password(password: str) -> str:
    if len(password) < MIN_LENGTH:
        raise BadRequest(f"the password needs at least {MIN_LENGTH} characters")
    return generate_password_hash(password, method="scrypt")


def password_matches(stored_hash: str | None, password: str) -> bool:
    if stored_hash is None:
        return False
    return check_password_hash(stored_hash, password)


class LoginThrottle:
    """Growing delays per client address, never a lock-out.

    After a client's n-th wrong password in a row it waits `first` * 2^(n-1) seconds (1, 2, 4, ...
    capped at `cap`) before its next attempt is looked at; attempts during the wait are refused
    without counting, so guessing cannot make the wait longer than `cap`. The right password after
    the wait always logs in and clears the count; other clients never wait for this one's failures.
    A client quiet for `forget` seconds starts afresh.
    """

    def __init__(self, clock: Callable[[], float], first: float = 1.0, cap: float = 60.0, forget: float = 3600.0,
                 max_clients: int = 10_000):
        self.clock = clock
        self.first = first
        self.cap = cap
        self.forget = forget
        self.max_clients = max_clients
        self._failures: dict[str, tuple[int, float]] = {}  # client -> (wrong passwords in a row, when the last was)
        self._lock = threading.Lock()

    def delay(self, failures: int) -> float:
        """The wait after `failures` wrong passwords in a row."""
        if failures <= 0:
            return 0.0
        return min(self.cap, self.first * 2 ** min(failures - 1, 32))

    def retry_after(self, client: str) -> int:
        """Whole seconds until `client` may try again (0: now)."""
        with self._lock:
            count, last = self._current(client)
            left = last + self.delay(count) - self.clock()
            return 0 if left <= 0 else math.ceil(left)

    def failed(self, client: str) -> None:
        with self._lock:
            count, _ = self._current(client)
            if client not in self._failures and len(self._failures) >= self.max_clients:
                self._prune()
            self._failures[client] = (count + 1, self.clock())

    def succeeded(self, client: str) -> None:
        with self._lock:
            self._failures.pop(client, None)

    def _current(self, client: str) -> tuple[int, float]:
        count, last = self._failures.get(client, (0, 0.0))
        if count and self.clock() - last >= self.forget:
            self._failures.pop(client, None)
            return 0, 0.0
        return count, last

    def _prune(self) -> None:
        """Forget quiet clients; if all are recent, the oldest half (the map stays bounded)."""
        now = self.clock()
        for client in [c for c, (_, last) in self._failures.items() if now - last >= self.cap]:
            del self._failures[client]
        if len(self._failures) >= self.max_clients:
            for client in sorted(self._failures, key=lambda c: self._failures[c][1])[: self.max_clients // 2]:
                del self._failures[client]
