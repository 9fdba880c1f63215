"""The link frames DLMS APDUs travel in: M-Bus long frames (segmented) and HDLC frames.

Each check here is on one frame; putting segments back together is the Reassembler's job.
"""

from __future__ import annotations

from dataclasses import dataclass

from node.meter.crc import crc16_x25
from node.meter.errors import BadChecksum, MalformedFrame, MeterError, OversizedFrame, PartialTelegram

MBUS_START, MBUS_STOP = 0x68, 0x16
HDLC_FLAG = 0x7E
_LLC_HEADERS = (b"\xe6\xe7\x00", b"\xe6\xe6\x00")
_MBUS_FIN = 0x10
_MBUS_SEQUENCE = 0x0F


@dataclass(frozen=True, slots=True)
class Segment:
    """A piece of an APDU from one link frame; `last` says whether the APDU ends with it."""

    sequence: int | None
    last: bool
    payload: bytes


def mbus_frame_length(buffer: bytes) -> int | None:
    """Total length of the M-Bus long frame at the start of `buffer`; None until the header is in,
    -1 if the header is not an M-Bus long frame's (`68 L L 68`)."""
    if len(buffer) < 4:
        return None
    if buffer[0] != MBUS_START or buffer[3] != MBUS_START or buffer[1] != buffer[2]:
        return -1
    return buffer[1] + 6


def mbus_segment(frame: bytes) -> Segment:
    """Check an M-Bus long frame (checksum, stop byte) and take its DLMS transport payload.

    Layout: 68 L L 68 C A CI STSAP DTSAP data CS 16, where CI holds the segment number (low
    nibble) and the last-segment flag (0x10).
    """
    if len(frame) < 11 or frame[-1] != MBUS_STOP:
        raise MalformedFrame("M-Bus long frame without its stop byte 0x16")
    body = frame[4:-2]
    checksum = sum(body) & 0xFF
    if checksum != frame[-2]:
        raise BadChecksum(f"M-Bus frame checksum 0x{frame[-2]:02X}, content gives 0x{checksum:02X}")
    control_info = body[2]
    return Segment(control_info & _MBUS_SEQUENCE, bool(control_info & _MBUS_FIN), bytes(body[5:]))


def hdlc_frame_length(buffer: bytes) -> int | None:
    """Total length (flags included) of the HDLC frame at the start of `buffer`; None until the
    format field is in, -1 if it is not a type-3 frame (`7E Ax`)."""
    if len(buffer) < 3:
        return None
    if buffer[0] != HDLC_FLAG or buffer[1] & 0xF0 != 0xA0:
        return -1
    return (((buffer[1] & 0x07) << 8) | buffer[2]) + 2


def hdlc_segment(frame: bytes) -> Segment:
    """Check an HDLC frame (HCS, FCS, flags) and take its information field."""
    if len(frame) < 9 or frame[-1] != HDLC_FLAG:
        raise MalformedFrame("HDLC frame without its closing flag")
    inner = frame[1:-1]
    if crc16_x25(inner[:-2]) != int.from_bytes(inner[-2:], "little"):
        raise BadChecksum("HDLC frame check sequence does not match")
    offset = 2
    for _address in range(2):  # destination, then source: the last byte of each has bit 0 set
        while offset < len(inner) - 2 and not inner[offset] & 1:
            offset += 1
        offset += 1
    offset += 1  # control
    if offset + 2 > len(inner) - 2:
        raise MalformedFrame("HDLC frame without an information field")
    if crc16_x25(inner[:offset]) != int.from_bytes(inner[offset : offset + 2], "little"):
        raise BadChecksum("HDLC header check sequence does not match")
    return Segment(None, not inner[0] & 0x08, bytes(inner[offset + 2 : -2]))


class Reassembler:
    """Joins the segments of one APDU; a new first segment or a gap in the numbering drops a partial one.

    M-Bus numbers segments in four bits, so an APDU of more than 16 segments counts 0-15 and
    on from 0 again: the expected number wraps with it. `max_size` bounds what a stream of
    segments that never says "last" can pile up.
    """

    def __init__(self, max_size: int = 8192) -> None:
        self.max_size = max_size
        self._parts: list[bytes] = []
        self._size = 0
        self._next = 0

    @property
    def pending(self) -> bool:
        return bool(self._parts)

    def add(self, segment: Segment) -> tuple[bytes | None, MeterError | None]:
        """(the whole APDU if `segment` completes it, the partial APDU it cut off if any)."""
        dropped = None
        if segment.sequence is not None and segment.sequence != self._next:
            if self._parts:
                dropped = PartialTelegram(f"segment {segment.sequence} arrived where {self._next} was due")
            self.reset()
            if segment.sequence != 0:
                orphan = PartialTelegram(f"segment {segment.sequence} arrived without the segments before it")
                return None, dropped or orphan
        if self._size + len(segment.payload) > self.max_size:
            self.reset()
            return None, OversizedFrame(f"a segmented APDU grew past {self.max_size} bytes")
        self._parts.append(segment.payload)
        self._size += len(segment.payload)
        self._next = ((segment.sequence or 0) + 1) & _MBUS_SEQUENCE
        if not segment.last:
            return None, dropped
        return self._finish(), dropped

    def reset(self) -> None:
        self._parts = []
        self._size = 0
        self._next = 0

    def _finish(self) -> bytes:
        apdu = b"".join(self._parts)
        self.reset()
        for llc in _LLC_HEADERS:
            if apdu.startswith(llc):
                return apdu[len(llc) :]
        return apdu
