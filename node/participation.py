"""Multi-participation: one metering point taking part in several energy communities (Austria).

Since 2024 an Austrian metering point may take part in up to five energy communities, each with a
participation factor; the factors together are at most 100 %. Each community is its own
gridcommons community (its own chain, deployment record and Community contract), and each gets
its factor's share of the household's import and export for every interval:

    share = ⌊Wh · factor_ppm / 1,000,000⌋     (import and export alike, each on its own)

Factors are parts per million (integers: 60 % is 600,000 ppm), so the split is exact integer
arithmetic. Rounding down means that no community ever gets more than the meter measured, and
since the factors add up to at most 1,000,000 ppm, the shares of one interval never add up to
more than the reading either. What rounding and an unassigned rest of the factors leave
(`rest`) is not submitted anywhere: it stays with the household's supplier, as energy bought from
or sold to the grid outside every community. A factor of 100 % passes the reading through as it is.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

PPM = 1_000_000  # 100 %
MAX_COMMUNITIES = 5  # Austria: a metering point takes part in five energy communities at most


@dataclass(frozen=True)
class Share:
    """One community's part of an interval's reading, in Wh."""

    import_wh: int
    export_wh: int


def share(wh: int | None, factor_ppm: int) -> int | None:
    """⌊wh · factor_ppm / 1,000,000⌋; None (no data) stays None, and 100 % is `wh` itself."""
    if not 0 < factor_ppm <= PPM:
        raise ValueError(f"a participation factor is more than 0 and at most {PPM} ppm, got {factor_ppm}")
    if wh is None or factor_ppm == PPM:
        return wh
    if wh < 0:
        raise ValueError(f"a meter's Wh in an interval are never negative, got {wh}")
    return wh * factor_ppm // PPM


def split(import_wh: int, export_wh: int, factors_ppm: Sequence[int]) -> tuple[Share, ...]:
    """Each community's share of one interval's import and export, in the order of `factors_ppm`."""
    check_factors(factors_ppm)
    return tuple(Share(share(import_wh, f), share(export_wh, f)) for f in factors_ppm)


def rest(import_wh: int, export_wh: int, factors_ppm: Sequence[int]) -> Share:
    """What no community gets: the supplier's part of the interval (never negative)."""
    shares = split(import_wh, export_wh, factors_ppm)
    return Share(import_wh - sum(s.import_wh for s in shares), export_wh - sum(s.export_wh for s in shares))


def check_factors(factors_ppm: Sequence[int]) -> None:
    """Each factor above 0 and at most 100 %, at most five of them, together at most 100 %."""
    if len(factors_ppm) > MAX_COMMUNITIES:
        raise ValueError(f"a metering point takes part in {MAX_COMMUNITIES} communities at most, got {len(factors_ppm)}")
    for factor in factors_ppm:
        if not isinstance(factor, int) or not 0 < factor <= PPM:
            raise ValueError(f"a participation factor is more than 0 and at most {PPM} ppm, got {factor!r}")
    if sum(factors_ppm) > PPM:
        raise ValueError(f"the participation factors add up to {percent(sum(factors_ppm))} %, more than 100 %")


def percent(factor_ppm: int) -> str:
    """A factor as the percentage node.toml spells it: 600000 -> "60", 333333 -> "33.3333"."""
    whole, fraction = divmod(factor_ppm, PPM // 100)
    return f"{whole}.{fraction:04d}".rstrip("0").rstrip(".") if fraction else str(whole)
