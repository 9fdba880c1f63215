"""Child processes that never outlive the program that started them."""

from __future__ import annotations

import ctypes
import os
import signal

_PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """A `preexec_fn`: the child gets its own session, so a terminal's Ctrl-C reaches only the parent,
    which stops its children in order; and SIGTERM when the parent dies, even from SIGKILL (Linux)."""
    os.setsid()
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except OSError:
        pass  # not Linux: the parent still stops its children when it exits normally
