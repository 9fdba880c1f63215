"""What the store keeps of a reading: time, meter, the summed energy registers, and power."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_FLOOR, Decimal

from node.meter.reading import Reading, Value
from node.store.errors import UnusableReading

# Tariff registers are summed; a meter without them reports the total on x.8.0.
IMPORT_TARIFFS = ("1-0:1.8.1", "1-0:1.8.2", "1-0:1.8.3", "1-0:1.8.4")
EXPORT_TARIFFS = ("1-0:2.8.1", "1-0:2.8.2", "1-0:2.8.3", "1-0:2.8.4")
IMPORT_TOTAL, EXPORT_TOTAL = "1-0:1.8.0", "1-0:2.8.0"
IMPORT_POWER, EXPORT_POWER = "1-0:1.7.0", "1-0:2.7.0"
_ENERGY_WH = {"Wh": 1, "kWh": 1000, "MWh": 1_000_000}
_POWER_W = {"W": 1, "kW": 1000, "MW": 1_000_000}


@dataclass(frozen=True, slots=True)
class Sample:
    """One moment of the meter: unix time (s), meter id, cumulative Wh, instantaneous W."""

    ts: int
    meter_id: str | None
    import_wh: int | None
    export_wh: int | None
    import_w: int | None = None
    export_w: int | None = None


def sample_from_reading(reading: Reading, received_at: datetime | None = None) -> Sample:
    """The store's view of a reading; the meter's clock wins over `received_at` when it has one.

    Raises UnusableReading for a reading with no time or no energy register at all.
    """
    moment = reading.timestamp or received_at
    if moment is None:
        raise UnusableReading("the reading has no valid timestamp and no receive time was given")
    import_wh = _register_wh(reading.values, IMPORT_TARIFFS, IMPORT_TOTAL)
    export_wh = _register_wh(reading.values, EXPORT_TARIFFS, EXPORT_TOTAL)
    if import_wh is None and export_wh is None:
        raise UnusableReading("the reading has no import or export energy register")
    return Sample(
        ts=int(moment.timestamp()),
        meter_id=reading.meter_id,
        import_wh=import_wh,
        export_wh=export_wh,
        import_w=_scaled(reading.values.get(IMPORT_POWER), _POWER_W),
        export_w=_scaled(reading.values.get(EXPORT_POWER), _POWER_W),
    )


def _register_wh(values: dict[str, Value], tariffs: tuple[str, ...], total: str) -> int | None:
    parts = [_scaled(values.get(code), _ENERGY_WH) for code in tariffs if code in values]
    if parts:
        return None if None in parts else sum(parts)
    return _scaled(values.get(total), _ENERGY_WH)


def _scaled(value: Value | None, factors: dict[str, int]) -> int | None:
    if value is None or not isinstance(value.value, Decimal) or value.unit not in factors:
        return None
    # Floor, so that a register below the store's 1 Wh resolution never appears to run backwards.
    return int((value.value * factors[value.unit]).to_integral_value(rounding=ROUND_FLOOR))
