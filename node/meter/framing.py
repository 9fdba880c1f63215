"""Cut a byte stream into telegrams and frames: resync on garbage, drop partials, any read sizes.

The framer only finds boundaries and checks link checksums, so that a false start found in
garbage is abandoned one byte on rather than swallowing a real frame. Contents are the decoder's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from node.meter.dlms.ciphering import GENERAL_GLO_CIPHERING, apdu_length
from node.meter.dlms.containers import HDLC_FLAG, MBUS_START, hdlc_frame_length, hdlc_segment, mbus_frame_length, mbus_segment
from node.meter.errors import (
    BadChecksum,
    MalformedFrame,
    MalformedTelegram,
    MeterError,
    OversizedFrame,
    PartialTelegram,
)

DSMR, MBUS, HDLC, APDU = "dsmr", "mbus", "hdlc", "apdu"
ALL_FORMATS = frozenset({DSMR, MBUS, HDLC, APDU})
_START_BYTES = {DSMR: b"/", MBUS: bytes([MBUS_START]), HDLC: bytes([HDLC_FLAG]), APDU: bytes([GENERAL_GLO_CIPHERING])}
# The identification line (`/XXX5...`) is free text: field meters put bytes such as 0x02 or 0xAB
# in it, and their CRC covers them. There only its line end, the `!` trailer and a new `/` count.
_IDENT_STOP = re.compile(rb"[!/\n]")
# In the data lines: the end mark, a new start, or a byte no DSMR meter sends there.
_TEXT_STOP = re.compile(rb"[!/]|[^\t\r\n\x20-\x7e]")
_TRAILER_LIMIT = 8  # '!', up to four CRC digits, the NUL some meters add, CR, LF
_TRAILER_AT_END = re.compile(rb"[0-9A-Fa-f]{0,4}\x00?\r?")
_WHITESPACE = b" \t\r\n"


@dataclass(frozen=True, slots=True)
class RawFrame:
    """One complete telegram or link frame, as bytes, with the format it was found as."""

    kind: str
    data: bytes


class Framer:
    """Feed it bytes as they come; it returns complete frames and the errors for what it dropped."""

    def __init__(self, formats: frozenset[str] = ALL_FORMATS, max_telegram: int = 16384, max_frame: int = 8192):
        unknown = set(formats) - ALL_FORMATS
        if unknown or not formats:
            raise ValueError(f"formats must be a non-empty subset of {sorted(ALL_FORMATS)}, not {sorted(formats)}")
        self.formats = frozenset(formats)
        self.max_telegram = max_telegram
        self.max_frame = max_frame
        self.skipped_bytes = 0
        self._starts = re.compile(b"[" + b"".join(re.escape(_START_BYTES[f]) for f in sorted(self.formats)) + b"]")
        self._buffer = bytearray()

    def feed(self, chunk: bytes) -> list[RawFrame | MeterError]:
        """Frames completed by `chunk`, in order, with an error for each partial or bad one dropped."""
        self._buffer += chunk
        out: list[RawFrame | MeterError] = []
        consumed = self._scan(out, at_end=False)
        del self._buffer[:consumed]
        return out

    def finish(self) -> list[RawFrame | MeterError]:
        """End of input: a last telegram missing only its final line end still counts; anything
        else left over is a partial telegram."""
        out: list[RawFrame | MeterError] = []
        consumed = self._scan(out, at_end=True)
        rest = self._buffer[consumed:]
        self._buffer = bytearray()
        if rest.strip(_WHITESPACE + bytes([HDLC_FLAG])):
            out.append(PartialTelegram(f"input ended inside a telegram or frame ({len(rest)} bytes)"))
        return out

    def drop_partial(self, why: str) -> list[MeterError]:
        """Forget bytes of an unfinished telegram (the line went down); an error if there were any."""
        rest = bytes(self._buffer)
        self._buffer = bytearray()
        if rest.strip(_WHITESPACE + bytes([HDLC_FLAG])):
            return [PartialTelegram(f"{why}: dropped {len(rest)} bytes of an unfinished telegram or frame")]
        return []

    def _scan(self, out: list, at_end: bool) -> int:
        buffer = self._buffer
        position = 0
        while True:
            match = self._starts.search(buffer, position)
            if match is None:
                self._skip(buffer, position, len(buffer))
                return len(buffer)
            start = match.start()
            self._skip(buffer, position, start)
            kind = _KIND_OF_START[buffer[start]]
            end = getattr(self, f"_frame_{kind}")(buffer, start, out, at_end)
            if end is None:  # incomplete: wait for more bytes
                return start
            position = end

    def _skip(self, buffer: bytearray, start: int, end: int) -> None:
        if end > start:
            self.skipped_bytes += len(bytes(buffer[start:end]).translate(None, _WHITESPACE))

    def _frame_dsmr(self, buffer: bytearray, start: int, out: list, at_end: bool) -> int | None:
        ident_end = _IDENT_STOP.search(buffer, start + 1)
        if ident_end is None:
            return self._wait_for_text(buffer, start, out)
        if buffer[ident_end.start()] == ord("/"):
            return self._new_start_inside(start, ident_end.start(), out)
        # A '!' ending the identification line is the trailer, found again by the search below.
        data_from = ident_end.start() + (buffer[ident_end.start()] == ord("\n"))
        stop = _TEXT_STOP.search(buffer, data_from)
        if stop is None:
            return self._wait_for_text(buffer, start, out)
        mark = buffer[stop.start()]
        if mark == ord("/"):
            return self._new_start_inside(start, stop.start(), out)
        if mark != ord("!"):
            out.append(MalformedTelegram(f"byte 0x{mark:02X} cannot be in a DSMR data line"))
            return stop.start()
        bang = stop.start()
        line_end = buffer.find(b"\n", bang, bang + _TRAILER_LIMIT)
        if line_end >= 0:
            out.append(RawFrame(DSMR, bytes(buffer[start : line_end + 1])))
            return line_end + 1
        if len(buffer) - bang < _TRAILER_LIMIT and not at_end:
            return None
        if at_end and _TRAILER_AT_END.fullmatch(buffer, bang + 1):
            out.append(RawFrame(DSMR, bytes(buffer[start:])))
            return len(buffer)
        out.append(MalformedTelegram("no line end after the '!' trailer"))
        return bang + 1

    def _wait_for_text(self, buffer: bytearray, start: int, out: list) -> int | None:
        if len(buffer) - start > self.max_telegram:
            out.append(OversizedFrame(f"no telegram end within {self.max_telegram} bytes"))
            return len(buffer)
        return None

    @staticmethod
    def _new_start_inside(start: int, new_start: int, out: list) -> int:
        out.append(PartialTelegram(f"a new telegram started {new_start - start} bytes into the last one"))
        return new_start

    def _frame_mbus(self, buffer: bytearray, start: int, out: list, at_end: bool) -> int | None:
        length = mbus_frame_length(buffer[start : start + 4])
        if length is None and not at_end:
            return None
        if length is None or length < 0:
            self.skipped_bytes += 1
            return start + 1
        if len(buffer) - start < length:
            return None
        return self._checked(MBUS, mbus_segment, buffer, start, length, out)

    def _frame_hdlc(self, buffer: bytearray, start: int, out: list, at_end: bool) -> int | None:
        length = hdlc_frame_length(buffer[start : start + 3])
        if length is None and not at_end:
            return None
        if length is None or length < 0:
            return start + 1  # a lone or doubled flag between frames
        if len(buffer) - start < length:
            return None
        end = self._checked(HDLC, hdlc_segment, buffer, start, length, out)
        # Consecutive HDLC frames may share one flag: leave the closing flag to open the next.
        return end - 1 if end == start + length else end

    def _frame_apdu(self, buffer: bytearray, start: int, out: list, at_end: bool) -> int | None:
        if len(buffer) - start >= 2 and buffer[start + 1] != 8:
            self.skipped_bytes += 1
            return start + 1
        length = apdu_length(bytes(buffer[start : start + 15]))
        if length is None and not at_end:
            return None
        if length is None or length < 0:
            self.skipped_bytes += 1
            return start + 1
        if length > self.max_frame:
            out.append(OversizedFrame(f"a ciphered APDU of {length} bytes is larger than any meter sends"))
            return start + 1
        if len(buffer) - start < length:
            return None
        out.append(RawFrame(APDU, bytes(buffer[start : start + length])))
        return start + length

    @staticmethod
    def _checked(kind: str, check, buffer: bytearray, start: int, length: int, out: list) -> int:
        frame = bytes(buffer[start : start + length])
        try:
            check(frame)
        except (BadChecksum, MalformedFrame) as error:
            # Resume one byte on: this may have been a false start inside garbage.
            out.append(error)
            return start + 1
        out.append(RawFrame(kind, frame))
        return start + length


_KIND_OF_START = {ord(b): kind for kind, b in _START_BYTES.items()}
