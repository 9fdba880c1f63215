"""Numbers as grid operators' exports write them, into integers without passing through float."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

_GROUPING = str.maketrans("", "", " \u00a0'")
_DIGITS = 12  # before the decimal mark: far beyond any metering point


class BadNumber(ValueError):
    """A cell that is not a number a DSO export writes; never leaves node.dso."""


def decimal(text: str) -> Decimal:
    """A number with a decimal point or comma; where both appear the last one is the decimal mark."""
    text = text.strip().translate(_GROUPING)
    comma, point = text.rfind(","), text.rfind(".")
    if comma > point:
        if text.count(",") > 1:
            raise BadNumber(text)
        text = text.replace(".", "").replace(",", ".")
    elif comma >= 0:
        text = text.replace(",", "")
    elif text.count(".") > 1:
        raise BadNumber(text)
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise BadNumber(text) from None
    if not number.is_finite() or number.adjusted() >= _DIGITS:
        raise BadNumber(text)
    return number


def scaled(text: str, factor: int) -> int:
    """`text` times `factor` as a whole number, rounded half up: kWh with 3 decimals times 1000 is
    exact; more decimals (some portals write 6) round to the nearest unit."""
    return int((decimal(text) * factor).to_integral_value(rounding=ROUND_HALF_UP))
