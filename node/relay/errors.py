"""The relays' errors."""

from __future__ import annotations

from node.errors import NodeError


class RelayError(NodeError):
    """A relay could not do what was asked."""


class RelayConfigError(RelayError):
    """A relay's configuration is invalid; `key` names the exact setting, `problem` says why."""

    def __init__(self, key: str, problem: str):
        super().__init__(f"{key}: {problem}")
        self.key = key
        self.problem = problem

    def within(self, prefix: str) -> "RelayConfigError":
        """The same problem, with the key placed under `prefix` (a table, a list item)."""
        joiner = "" if self.key.startswith("[") else "."
        return RelayConfigError(f"{prefix}{joiner}{self.key}", self.problem)


class RelayPinError(RelayError):
    """A relay's GPIO pin could not be opened or driven."""


class UnknownRelay(RelayError, KeyError):
    """No relay of that name is configured."""

    def __str__(self) -> str:
        # KeyError would quote the message.
        return str(self.args[0])


class RelayClosed(RelayError):
    """The relay was closed and no longer drives its pin."""


class BatterySensorError(RelayError):
    """The battery's state of charge could not be read (missing, stale or not a number)."""
