"""The operator's password (scrypt hash) and the login throttle."""

from __future__ import annotations

import threading
from collections import defaultdict, deque
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
    """At most `limit` failed logins per client in `window` seconds; then wait until the oldest ages out."""

    def __init__(self, clock: Callable[[], float], limit: int = 5, window: float = 300.0):
        self.clock = clock
        self.limit = limit
        self.window = window
        self._failures: dict[str, deque] = defaultdict(deque)
        self._lock = threading.Lock()

    def retry_after(self, client: str) -> int:
        """Seconds until `client` may try again (0: now)."""
        with self._lock:
            failures = self._recent(client)
            if len(failures) < self.limit:
                return 0
            return max(1, int(failures[0] + self.window - self.clock()) + 1)

    def failed(self, client: str) -> None:
        with self._lock:
            self._recent(client).append(self.clock())

    def succeeded(self, client: str) -> None:
        with self._lock:
            self._failures.pop(client, None)

    def _recent(self, client: str) -> deque:
        failures = self._failures[client]
        while failures and failures[0] <= self.clock() - self.window:
            failures.popleft()
        return failures
