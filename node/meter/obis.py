"""OBIS codes in the `A-B:C.D.E` form used as reading keys (the F group is dropped)."""

from __future__ import annotations

import re

_OBIS_TEXT = re.compile(r"^(\d{1,3})-(\d{1,3}):(\d{1,3})\.(\d{1,3})\.(\d{1,3})$")


def obis_from_bytes(code: bytes) -> str:
    """The `A-B:C.D.E` key of a 6-byte COSEM logical name."""
    if len(code) != 6:
        raise ValueError(f"an OBIS logical name has 6 bytes, not {len(code)}")
    a, b, c, d, e, _f = code
    return f"{a}-{b}:{c}.{d}.{e}"


def is_obis(text: str) -> bool:
    """Whether `text` is an OBIS code in `A-B:C.D.E` form with every group in 0..255."""
    match = _OBIS_TEXT.match(text)
    return bool(match) and all(int(group) <= 255 for group in match.groups())
