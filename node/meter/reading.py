"""The normalised reading that both DSMR telegrams and DLMS frames turn into."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, NamedTuple, Union

Scalar = Union[Decimal, str, datetime, None]


class Value(NamedTuple):
    """One COSEM object's value: an exact decimal (or text, or time) with its unit.

    `timestamp` is the object's own capture time (M-Bus channels, peak demand); `history` holds
    the entries of log objects (power failures, monthly peaks) in the order the meter sent them.
    A named tuple rather than a dataclass: a telegram makes dozens, and tuples build fastest.
    """

    value: Scalar
    unit: str | None = None
    timestamp: datetime | None = None
    history: tuple["Value", ...] = ()

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"value": _json_scalar(self.value), "unit": self.unit}
        if self.timestamp is not None:
            out["timestamp"] = self.timestamp.isoformat()
        if self.history:
            out["history"] = [entry.to_json() for entry in self.history]
        return out


@dataclass(frozen=True, slots=True)
class Reading:
    """What one telegram or frame said: the meter, its clock, and values keyed by `A-B:C.D.E`.

    `crc_ok` is True/False for telegrams that carry a CRC and None where there is none (DSMR 2.2/3,
    DLMS notifications). `system_title` and `frame_counter` are set for frames that came encrypted.
    """

    meter_id: str | None
    timestamp: datetime | None
    values: dict[str, Value]
    crc_ok: bool | None = None
    source: str = "dsmr"
    header: str | None = None
    system_title: str | None = None
    frame_counter: int | None = None

    def to_json(self) -> dict[str, Any]:
        """The JSON object `gridcommons meter parse` prints (keys in the documented order)."""
        return {
            "meter_id": self.meter_id,
            "timestamp": self.timestamp.isoformat() if self.timestamp is not None else None,
            "crc_ok": self.crc_ok,
            "values": {code: value.to_json() for code, value in self.values.items()},
        }


@dataclass(frozen=True, slots=True)
class Rejection:
    """A telegram or frame that did not become a reading, and why."""

    reason: str
    detail: str
    size: int = field(default=0)


def _json_scalar(value: Scalar) -> str | None:
    if value is None:
        return None
    if isinstance(value, Decimal):
        # 'f' keeps the meter's digits after the point and never switches to exponent notation.
        return format(value, "f")
    if isinstance(value, datetime):
        return value.isoformat()
    return value
