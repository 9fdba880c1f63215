"""The local store's errors."""

from __future__ import annotations

from node.errors import NodeError


class StoreError(NodeError):
    """The local store could not do what was asked."""


class UnusableReading(StoreError):
    """A reading has no time or no energy register the store could keep."""
