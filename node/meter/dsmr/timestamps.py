"""DSMR clock values `YYMMDDhhmmssX`: X is S (summer, CEST) or W (winter, CET), absent before DSMR 4."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo

# Every country with a P1 port keeps Central European time.
METER_TIMEZONE = ZoneInfo("Europe/Amsterdam")
_DST_FLAGS = {"S": timezone(timedelta(hours=2)), "W": timezone(timedelta(hours=1))}


@lru_cache(maxsize=1024)
def parse_timestamp(text: str, local: tzinfo = METER_TIMEZONE) -> datetime | None:
    """The aware time a DSMR clock value means, or None for anything that is not a valid time."""
    digits, flag = (text[:-1], text[-1]) if text[-1:] in ("S", "W") else (text, "")
    if len(digits) != 12 or not digits.isdigit():
        return None
    try:
        naive = datetime(
            2000 + int(digits[0:2]), int(digits[2:4]), int(digits[4:6]),
            int(digits[6:8]), int(digits[8:10]), int(digits[10:12]),
        )
    except ValueError:
        return None
    return naive.replace(tzinfo=_DST_FLAGS[flag] if flag else local)
