"""COSEM value conventions: physical units by enum, and the 12-byte date-time."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone, tzinfo

# DLMS Blue Book unit enumeration (the ones meters report); 255 means a plain count.
UNITS = {
    1: "a", 2: "mo", 3: "wk", 4: "d", 5: "h", 6: "min", 7: "s", 8: "°", 9: "°C", 10: "currency",
    11: "m", 12: "m/s", 13: "m3", 14: "m3", 15: "m3/h", 16: "m3/h", 17: "m3/d", 18: "m3/d",
    19: "l", 20: "kg", 21: "N", 22: "Nm", 23: "Pa", 24: "bar", 25: "J", 26: "J/h",
    27: "W", 28: "VA", 29: "var", 30: "Wh", 31: "VAh", 32: "varh", 33: "A", 34: "C", 35: "V",
    36: "V/m", 37: "F", 38: "Ω", 39: "Ωm2/m", 40: "Wb", 41: "T", 42: "A/m", 43: "H", 44: "Hz",
    45: "1/(Wh)", 46: "1/(varh)", 47: "1/(VAh)", 48: "V2h", 49: "A2h", 50: "kg/s", 51: "S",
    52: "K", 53: "1/(V2h)", 54: "1/(A2h)", 55: "1/m3", 56: "%", 57: "Ah",
}
_DEVIATION_UNSPECIFIED = -0x8000


def unit_name(code: int) -> str | None:
    """The unit symbol for a COSEM unit enum, None for a count or an unknown code."""
    return UNITS.get(code)


def parse_date_time(octets: bytes, local: tzinfo) -> datetime | None:
    """The time a 12-byte COSEM date-time means, or None if it is not a complete valid time.

    Without a deviation the time is read in `local`; with one, deviation is minutes to add to
    local time to get UTC (so CET is -60).
    """
    if len(octets) != 12:
        return None
    year = int.from_bytes(octets[0:2], "big")
    month, day, _weekday, hour, minute, second, hundredths = octets[2:9]
    deviation = int.from_bytes(octets[9:11], "big", signed=True)
    if year == 0xFFFF or 0xFF in (month, day, hour, minute) or month > 12:
        return None
    if second == 0xFF:
        second = 0
    if hundredths == 0xFF:
        hundredths = 0
    try:
        naive = datetime(year, month, day, hour, minute, second, hundredths * 10_000)
    except ValueError:
        return None
    if deviation == _DEVIATION_UNSPECIFIED or not -720 <= deviation <= 720:
        return naive.replace(tzinfo=local)
    return naive.replace(tzinfo=timezone(timedelta(minutes=-deviation)))
