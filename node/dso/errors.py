"""The DSO package's errors: every error it raises on purpose is a DsoError."""

from __future__ import annotations

from node.errors import NodeError


class DsoError(NodeError):
    """Base of every error node.dso raises on purpose."""


class UnusableFile(DsoError):
    """A DSO file's header names no time, value or metering point the importer could use."""


class UnknownFormat(DsoError):
    """A file is neither an Austrian community export nor an Enedis load curve."""


class CheckError(DsoError):
    """A check was asked for something it cannot compare (a bad period, tolerance or member)."""
