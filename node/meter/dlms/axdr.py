"""A-XDR decoding of DLMS `Data`: the tagged values inside a DataNotification."""

from __future__ import annotations

import struct
from dataclasses import dataclass

from node.meter.errors import MalformedFrame, UnsupportedFrame

# Fixed-size tags: tag -> (struct format, size).
_FIXED = {
    3: ("?", 1),    # boolean
    5: (">i", 4),   # double-long
    6: (">I", 4),   # double-long-unsigned
    15: (">b", 1),  # integer
    16: (">h", 2),  # long
    17: (">B", 1),  # unsigned
    18: (">H", 2),  # long-unsigned
    20: (">q", 8),  # long64
    21: (">Q", 8),  # long64-unsigned
    22: (">B", 1),  # enum
    23: (">f", 4),  # float32
    24: (">d", 8),  # float64
}
_FIXED_OCTETS = {25: 12, 26: 5, 27: 4}  # date-time, date, time
ARRAY, STRUCTURE, OCTET_STRING, VISIBLE_STRING, UTF8_STRING, ENUM, INTEGER = 1, 2, 9, 10, 12, 22, 15


@dataclass(frozen=True, slots=True)
class Data:
    """One decoded `Data` element: its A-XDR tag and its Python value (a list for containers)."""

    tag: int
    value: object


def read_length(buffer: bytes, offset: int) -> tuple[int, int]:
    """An A-XDR/BER length at `offset`: (length, offset after it)."""
    if offset >= len(buffer):
        raise MalformedFrame("length runs past the end of the data")
    first = buffer[offset]
    if first < 0x80:
        return first, offset + 1
    size = first & 0x7F
    if size == 0 or size > 4 or offset + 1 + size > len(buffer):
        raise MalformedFrame(f"bad long-form length byte 0x{first:02X}")
    return int.from_bytes(buffer[offset + 1 : offset + 1 + size], "big"), offset + 1 + size


def decode_data(buffer: bytes, offset: int = 0, depth: int = 0) -> tuple[Data, int]:
    """Decode one `Data` element at `offset`: (element, offset after it)."""
    if depth > 16:
        raise MalformedFrame("data nested deeper than any meter sends")
    if offset >= len(buffer):
        raise MalformedFrame("data runs past the end of the APDU")
    tag = buffer[offset]
    offset += 1
    if tag == 0:
        return Data(0, None), offset
    if tag in (ARRAY, STRUCTURE):
        count, offset = read_length(buffer, offset)
        items = []
        for _ in range(count):
            item, offset = decode_data(buffer, offset, depth + 1)
            items.append(item)
        return Data(tag, items), offset
    if tag in _FIXED:
        fmt, size = _FIXED[tag]
        end = offset + size
        if end > len(buffer):
            raise MalformedFrame(f"tag {tag} needs {size} bytes")
        return Data(tag, struct.unpack(fmt, buffer[offset:end])[0]), end
    if tag in (OCTET_STRING, VISIBLE_STRING, UTF8_STRING, 4, 13):
        length, offset = read_length(buffer, offset)
        if tag == 4:  # bit-string: length in bits
            length = (length + 7) // 8
        end = offset + length
        if end > len(buffer):
            raise MalformedFrame(f"a string of {length} bytes runs past the end of the APDU")
        return Data(tag, bytes(buffer[offset:end])), end
    if tag in _FIXED_OCTETS:
        end = offset + _FIXED_OCTETS[tag]
        if end > len(buffer):
            raise MalformedFrame(f"tag {tag} needs {_FIXED_OCTETS[tag]} bytes")
        return Data(OCTET_STRING, bytes(buffer[offset:end])), end
    raise UnsupportedFrame(f"A-XDR data tag {tag} is not decoded")
