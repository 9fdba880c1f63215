"""OBIS codes in the `A-B:C.D.E` form used as reading keys (the F group is dropped)."""

from __future__ import annotations


def obis_from_bytes(code: bytes) -> str:
    """The `A-B:C.D.E` key of a 6-byte COSEM logical name."""
    if len(code) != 6:
        raise ValueError(f"an OBIS logical name has 6 bytes, not {len(code)}")
    a, b, c, d, e, _f = code
    return f"{a}-{b}:{c}.{d}.{e}"
