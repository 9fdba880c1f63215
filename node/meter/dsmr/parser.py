"""Parse one DSMR P1 telegram (bytes from `/` through the `!CRC` line) into a Reading."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Callable

from node.meter.crc import crc16_arc
from node.meter.dsmr.specs import AUTO, TelegramSpec
from node.meter.dsmr.timestamps import parse_timestamp
from node.meter.errors import CrcMismatch, MalformedTelegram, MissingCrc
from node.meter.reading import Reading, Value

# An object: its OBIS code, then one or more (...) groups, possibly continued on following lines
# (DSMR 2.2/3 put the gas value on the line after its header).
_OBJECT = re.compile(
    r"^(\d{1,3}-\d{1,3}:\d{1,3}\.\d{1,3}\.\d{1,3})((?:\([^()\r\n]*\))+(?:\r?\n(?:\([^()\r\n]*\))+)*)",
    re.MULTILINE,
)
_GROUP_JOIN = re.compile(r"\)\s*\(")
_CRC_DIGITS = re.compile(rb"[0-9A-Fa-f]{0,4}")
_NUMBER = re.compile(r"-?\d+(?:\.\d*)?")
_METER_ID_CODES = ("0-0:96.1.1", "0-0:42.0.0", "0-0:96.1.0")
_TRAILER_SPACE = b" \t\r\n\x00"  # some meters send a NUL between the CRC and the line end
_NOT_PRINTABLE = re.compile(rb"[^\x20-\x7e]")


def parse_telegram(telegram: bytes | str, spec: TelegramSpec = AUTO) -> Reading:
    """Check a telegram's CRC (if it has one, or `spec` demands one) and read its objects.

    Raises CrcMismatch, MissingCrc or MalformedTelegram; an invalid clock value becomes None.
    """
    data = telegram.encode("ascii", "replace") if isinstance(telegram, str) else bytes(telegram)
    start = data.find(b"/")
    bang = data.rfind(b"!")
    if start < 0 or bang < start:
        raise MalformedTelegram("a telegram runs from '/' to '!': one of them is missing")
    crc_text = data[bang + 1 :].strip(_TRAILER_SPACE)
    if not _CRC_DIGITS.fullmatch(crc_text):
        raise MalformedTelegram(f"the trailer after '!' is not a CRC of 0-4 hex digits: {crc_text[:16]!r}")
    crc_ok: bool | None = None
    if crc_text:
        computed = crc16_arc(data[start : bang + 1])
        if int(crc_text, 16) != computed:
            raise CrcMismatch(f"telegram says CRC {crc_text.decode()}, its content gives {computed:04X}")
        crc_ok = True
    elif spec.checksum:
        raise MissingCrc(f"{spec.name} telegrams end in a CRC; this one has none")
    header_end = data.find(b"\n", start, bang)
    body_start = bang if header_end < 0 else header_end + 1
    try:
        body = data[body_start:bang].decode("ascii")
    except UnicodeDecodeError as error:
        raise MalformedTelegram(f"non-ASCII byte at offset {body_start - start + error.start}") from None
    # The identification line is free text, covered by the CRC where there is one: any byte is
    # kept, shown escaped (`\x02`) so that it cannot garble a log line or the JSON.
    header = _shown(data[start + 1 : body_start].rstrip(b"\r\n"))
    kinds = spec.objects
    values: dict[str, Value] = {}
    for match in _OBJECT.finditer(body):
        code, groups = match.groups()
        if ")(" in groups or "\n" in groups:
            parts = _GROUP_JOIN.sub(")(", groups)[1:-1].split(")(")
        else:
            parts = [groups[1:-1]]
        reader = _READERS.get(kinds.get(code) or _infer_kind(parts))
        values[code] = reader(parts)

    return Reading(
        meter_id=_meter_id(values),
        timestamp=_value_or_none(values.get("0-0:1.0.0")),
        values=values,
        crc_ok=crc_ok,
        source="dsmr",
        header=header,
    )


def odd_identification(telegram: bytes) -> bool:
    """Whether the identification line holds a byte outside printable ASCII (accepted, but worth
    counting: it tells a meter's quirk from line noise when telegrams go missing)."""
    start = telegram.find(b"/")
    end = telegram.find(b"\n", start)
    line = telegram[start + 1 : end if end >= 0 else len(telegram)].rstrip(b"\r")
    return _NOT_PRINTABLE.search(line) is not None


def _shown(line: bytes) -> str:
    if _NOT_PRINTABLE.search(line) is None:
        return line.decode("ascii")
    return _NOT_PRINTABLE.sub(lambda byte: b"\\x%02x" % byte[0][0], line).decode("ascii")


def _quantity_value(text: str) -> Value:
    number, star, unit = text.partition("*")
    if not number:
        return Value(None, unit or None)
    try:
        return Value(Decimal(number), unit or None)
    except InvalidOperation:
        # Only possible without a CRC (DSMR 2.2/3): keep what the meter sent rather than guess.
        return Value(text)


def _read_quantity(parts: list[str]) -> Value:
    return _quantity_value(parts[0])


def _read_text(parts: list[str]) -> Value:
    return Value(")(".join(parts) or None)


def _read_hex_text(parts: list[str]) -> Value:
    return Value(_decode_hex_text(parts[0]) or None)


def _read_timestamp(parts: list[str]) -> Value:
    return Value(parse_timestamp(parts[0]))


def _read_timestamped(parts: list[str]) -> Value:
    if len(parts) < 2:
        return _quantity_value(parts[0])
    value = _quantity_value(parts[-1])
    return Value(value.value, value.unit, parse_timestamp(parts[0]))


def _read_legacy_mbus(parts: list[str]) -> Value:
    # (capture time)(..)(..)(..)(value obis)(unit)(value)
    if len(parts) < 7:
        return _read_text(parts)
    value = _quantity_value(parts[6])
    return Value(value.value, parts[5] or None, parse_timestamp(parts[0]))


def _read_event_log(parts: list[str]) -> Value:
    # (count)(event obis)(end time)(duration)...
    entries = tuple(
        Value(duration.value, duration.unit, parse_timestamp(parts[i]))
        for i in range(2, len(parts) - 1, 2)
        for duration in (_quantity_value(parts[i + 1]),)
    )
    return Value(_quantity_value(parts[0]).value, None, history=entries)


def _read_demand_history(parts: list[str]) -> Value:
    # (count)(obis)(obis)(period start)(time of peak)(peak)...
    entries = tuple(
        Value(peak.value, peak.unit, parse_timestamp(parts[i + 1]))
        for i in range(3, len(parts) - 2, 3)
        for peak in (_quantity_value(parts[i + 2]),)
    )
    return Value(_quantity_value(parts[0]).value, None, history=entries)


_READERS: dict[str, Callable[[list[str]], Value]] = {
    "quantity": _read_quantity,
    "text": _read_text,
    "hex_text": _read_hex_text,
    "timestamp": _read_timestamp,
    "timestamped": _read_timestamped,
    "legacy_mbus": _read_legacy_mbus,
    "event_log": _read_event_log,
    "demand_history": _read_demand_history,
}


def _infer_kind(parts: list[str]) -> str:
    if len(parts) == 1:
        number = parts[0].partition("*")[0]
        return "quantity" if _NUMBER.fullmatch(number) else "text"
    if len(parts) == 2 and parse_timestamp(parts[0]) is not None:
        return "timestamped"
    return "text"


def _decode_hex_text(text: str) -> str:
    if len(text) % 2 or not text:
        return text
    try:
        decoded = bytes.fromhex(text).decode("ascii")
    except ValueError:
        return text
    return decoded if decoded.isprintable() else text


def _value_or_none(value: Value | None):
    return value.value if value is not None else None


def _meter_id(values: dict[str, Value]) -> str | None:
    for code in _METER_ID_CODES:
        value = values.get(code)
        if value is not None and isinstance(value.value, str):
            return value.value
    return None
