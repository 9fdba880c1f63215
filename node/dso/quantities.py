"""What a DSO figure measures, the flags it can carry, and the shape of one imported record.

Quantities are stored as small integers: a year of a community's quarter-hours is millions of rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum


class Quantity(IntEnum):
    """One quantity per metering point and quarter-hour, in Wh."""

    CONSUMPTION = 1  # Austria G.01, Enedis CONS: the point's total import as the DSO measured it
    SHARE = 2  # Austria G.02: the community production the key made available to the point
    COVERED = 3  # Austria G.03: the part of its consumption the community covered
    SURPLUS = 4  # Austria P.01: production fed to the grid beyond what the community took
    EXPORT = 5  # Enedis PROD: the point's total injection

    @property
    def label(self) -> str:
        return self.name.lower()


AUSTRIAN_CODES = {"G.01": Quantity.CONSUMPTION, "G.02": Quantity.SHARE, "G.03": Quantity.COVERED,
                  "P.01": Quantity.SURPLUS}

# Flags of a stored figure (a bit mask).
DERIVED = 1  # split evenly out of a step coarser than 15 minutes: the DSO never measured this quarter-hour
INCOMPLETE = 2  # a part of the quarter-hour was missing from the file


def flag_names(flags: int) -> tuple[str, ...]:
    return tuple(name for bit, name in ((DERIVED, "derived"), (INCOMPLETE, "incomplete")) if flags & bit)


@dataclass(frozen=True, slots=True)
class Figure:
    """One DSO value: Wh of `quantity` at metering point `point` in the quarter-hour starting `start` (unix s)."""

    point: str
    start: int
    quantity: Quantity
    wh: int
    flags: int = 0


@dataclass(frozen=True, slots=True)
class Refusal:
    """A row the importer refused, the line it began on, and why."""

    line: int
    reason: str
    detail: str
