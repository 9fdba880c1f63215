"""DLMS DataNotification (0x0F) to Reading: OBIS code / value / scaler-unit triples."""

from __future__ import annotations

from datetime import datetime, tzinfo
from decimal import Decimal
from typing import Iterator

from node.meter.dlms.axdr import (
    ARRAY,
    ENUM,
    INTEGER,
    OCTET_STRING,
    STRUCTURE,
    UTF8_STRING,
    VISIBLE_STRING,
    Data,
    decode_data,
)
from node.meter.dlms.cosem import parse_date_time, unit_name
from node.meter.dlms.ciphering import DATA_NOTIFICATION
from node.meter.errors import MalformedFrame
from node.meter.obis import obis_from_bytes
from node.meter.reading import Reading, Value

_CLOCK = "0-0:1.0.0"
_METER_ID_CODES = ("0-0:96.1.0", "0-0:96.1.1", "0-0:42.0.0")
_INTEGER_TAGS = frozenset({5, 6, 15, 16, 17, 18, 20, 21, 22})
_LONG_UNSIGNED = 18
_REGISTER, _PUSH_SETUP = 3, 40  # COSEM interface classes


def parse_notification(apdu: bytes, local: tzinfo, system_title: str | None = None) -> Reading:
    """Read a DataNotification: invoke id, optional date-time, then one `Data` body.

    The body is searched for 6-byte octet strings (OBIS codes); each is followed by its value
    and, for numbers, optionally by a {scaler, unit} structure. Meters nest these triples in
    structures or send them flat; both read the same. A body that opens with the push's capture
    object list (E450) has its values matched to that list by position instead.
    """
    if apdu[:1] != bytes([DATA_NOTIFICATION]) or len(apdu) < 7:
        raise MalformedFrame("not a DataNotification APDU")
    offset = 5  # tag, 4-byte long-invoke-id-and-priority
    header_time: datetime | None = None
    marker = apdu[offset]
    if marker == 0:
        offset += 1
    else:
        if marker == OCTET_STRING:  # some meters tag the optional date-time, most give its length
            offset += 1
        length = apdu[offset] if offset < len(apdu) else 0
        header_time = parse_date_time(bytes(apdu[offset + 1 : offset + 1 + length]), local)
        offset += 1 + length
    body, end = decode_data(apdu, offset)
    if end != len(apdu):
        raise MalformedFrame(f"{len(apdu) - end} bytes after the notification body")

    definitions = _capture_definitions(body)
    values = _listed_values(definitions, body, local) if definitions is not None else _tagged_values(body, local)

    clock = values.get(_CLOCK)
    timestamp = clock.value if clock is not None and isinstance(clock.value, datetime) else header_time
    meter_id = next(
        (values[code].value for code in _METER_ID_CODES if code in values and isinstance(values[code].value, str)),
        system_title,
    )
    return Reading(meter_id, timestamp, values, crc_ok=None, source="dlms")


def _tagged_values(body: Data, local: tzinfo) -> dict[str, Value]:
    """OBIS code, value and optional {scaler, unit}, in whatever structures they are nested."""
    values: dict[str, Value] = {}
    items = list(_flatten(body))
    index = 0
    while index < len(items):
        item = items[index]
        if item.tag == OCTET_STRING and len(item.value) == 6 and index + 1 < len(items):
            code = obis_from_bytes(item.value)
            raw = items[index + 1]
            scaler_unit = items[index + 2] if index + 2 < len(items) and _is_scaler_unit(items[index + 2]) else None
            values[code] = _value(raw, scaler_unit, local)
            index += 3 if scaler_unit is not None else 2
        else:
            index += 1
    return values


def _capture_definitions(body: Data) -> list[tuple[int, str]] | None:
    """(class id, OBIS code) per element, when the body opens with the push's own object list.

    Landis+Gyr E450 pushes a structure whose first element is its capture object list, an array
    of {class id, logical name, attribute, data index}, one per element of that structure (the
    first being the list itself); the values after it carry no OBIS codes of their own.
    """
    if body.tag != STRUCTURE or not body.value or body.value[0].tag != ARRAY:
        return None
    listed = body.value[0].value
    if len(listed) != len(body.value):
        return None
    definitions = []
    for entry in listed:
        parts = entry.value if entry.tag == STRUCTURE else None
        if not parts or len(parts) != 4 or [part.tag for part in parts] != [_LONG_UNSIGNED, OCTET_STRING, INTEGER, _LONG_UNSIGNED]:
            return None
        if len(parts[1].value) != 6:
            return None
        definitions.append((parts[0].value, obis_from_bytes(parts[1].value)))
    return definitions


def _listed_values(definitions: list[tuple[int, str]], body: Data, local: tzinfo) -> dict[str, Value]:
    values: dict[str, Value] = {}
    for (class_id, code), data in zip(definitions, body.value):
        if class_id == _PUSH_SETUP:
            continue  # its element is the object list itself
        value = _value(data, None, local)
        if class_id == _REGISTER and isinstance(value.value, Decimal) and value.unit is None:
            # Pushed without its {scaler, unit}: read at scaler 0 in the unit such meters use
            # for the register (the E450's documentation and its peers' readers do the same).
            value = value._replace(unit=_customary_unit(code))
        values[code] = value
    return values


def _customary_unit(code: str) -> str | None:
    group, _, rest = code.partition(":")
    if group != "1-0":
        return None
    c, d, _e = rest.split(".")
    if d == "8":
        return {"1": "Wh", "2": "Wh", "3": "varh", "4": "varh"}.get(c)
    if d == "7":
        return {"1": "W", "2": "W", "3": "var", "4": "var"}.get(c)
    return None


def _flatten(data: Data) -> Iterator[Data]:
    # A {scaler, unit} pair stays whole: it belongs to the value before it.
    if isinstance(data.value, list) and not _is_scaler_unit(data):
        for item in data.value:
            yield from _flatten(item)
    else:
        yield data


def _is_scaler_unit(data: Data) -> bool:
    return (
        data.tag == STRUCTURE
        and len(data.value) == 2
        and data.value[0].tag == INTEGER
        and data.value[1].tag == ENUM
    )


def _value(raw: Data, scaler_unit: Data | None, local: tzinfo) -> Value:
    if raw.tag in _INTEGER_TAGS:
        number = Decimal(raw.value)
        if scaler_unit is None:
            return Value(number)
        scaler, unit = (part.value for part in scaler_unit.value)
        return Value(number.scaleb(scaler), unit_name(unit))
    if raw.tag in (23, 24):
        return Value(Decimal(repr(raw.value)))
    if raw.tag in (OCTET_STRING, VISIBLE_STRING, UTF8_STRING):
        octets: bytes = raw.value
        if len(octets) == 12 and raw.tag == OCTET_STRING:
            moment = parse_date_time(octets, local)
            if moment is not None or not _printable(octets):
                return Value(moment)
        text = octets.rstrip(b"\x00")  # meters pad fixed-size text fields with NULs
        return Value(text.decode("ascii") if text and _printable(text) else octets.hex().upper())
    if raw.tag == 3:
        return Value(str(raw.value).lower())
    return Value(None)


def _printable(octets: bytes) -> bool:
    return octets.isascii() and octets.decode("ascii").isprintable()
