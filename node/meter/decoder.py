"""Bytes in, readings out: framing, link frames, decryption, replay protection and parsing together.

The decoder never raises on bad input: every telegram or frame it drops comes back as a
Rejection and is counted under its reason.
"""

from __future__ import annotations

import struct
import time
from collections import Counter
from dataclasses import replace
from datetime import tzinfo
from typing import Callable, Mapping

from node.meter.dlms.ciphering import (
    DATA_NOTIFICATION,
    GENERAL_GLO_CIPHERING,
    MeterKeys,
    decrypt,
    parse_ciphered,
)
from node.meter.dlms.block_transfer import GENERAL_BLOCK_TRANSFER, BlockAssembler, parse_block
from node.meter.dlms.containers import Reassembler, hdlc_segment, mbus_segment
from node.meter.dlms.notification import parse_notification
from node.meter.dsmr.parser import odd_identification, parse_telegram
from node.meter.dsmr.specs import AUTO, TelegramSpec
from node.meter.dsmr.timestamps import METER_TIMEZONE
from node.meter.errors import MalformedFrame, MeterError, ReplayedFrame, UnsupportedFrame, WrongMeterKey
from node.meter.framing import ALL_FORMATS, APDU, DSMR, HDLC, MBUS, Framer, RawFrame
from node.meter.reading import Reading, Rejection

Event = Reading | Rejection
# What malformed binary input can make Python's own decoding raise; turned into MalformedFrame.
_DECODING_ERRORS = (IndexError, ValueError, struct.error, OverflowError)


class MeterDecoder:
    """Turns a meter's byte stream into Readings, keeping counts of what it rejected and why.

    `frame_counters` (system title hex -> last accepted counter) lets a node carry replay
    protection across restarts; the decoder works on its own copy. `clock` times the blocks of a
    General Block Transfer, which are dropped when the next one is over `block_timeout` s late.
    """

    def __init__(
        self,
        keys: MeterKeys | None = None,
        spec: TelegramSpec = AUTO,
        formats: frozenset[str] = ALL_FORMATS,
        local: tzinfo = METER_TIMEZONE,
        frame_counters: Mapping[str, int] | None = None,
        clock: Callable[[], float] = time.monotonic,
        block_timeout: float = 10.0,
    ):
        self.keys = keys
        self.spec = spec
        self.local = local
        self.framer = Framer(formats)
        self.rejections: Counter[str] = Counter()
        # Oddities read anyway, by kind (e.g. odd_identification: a DSMR identification line
        # with bytes outside printable ASCII): a counter, never a refusal.
        self.notices: Counter[str] = Counter()
        self.readings = 0
        self._frame_counters = dict(frame_counters or {})
        self._segments = {MBUS: Reassembler(), HDLC: Reassembler()}
        self._blocks = {kind: BlockAssembler(clock, block_timeout) for kind in (MBUS, HDLC)}

    @property
    def frame_counters(self) -> dict[str, int]:
        """The last accepted frame counter per meter system title (a copy)."""
        return dict(self._frame_counters)

    def restore_frame_counters(self, counters: Mapping[str, int]) -> None:
        """Take counters kept from an earlier run; a counter never goes back by this."""
        for title, counter in counters.items():
            self._frame_counters[title] = max(counter, self._frame_counters.get(title, counter))

    @property
    def skipped_bytes(self) -> int:
        """Bytes outside any telegram or frame (line noise), whitespace not counted."""
        return self.framer.skipped_bytes

    def feed(self, chunk: bytes) -> list[Event]:
        """The readings and rejections that `chunk` completes, in stream order."""
        return self._decode(self.framer.feed(chunk))

    def finish(self) -> list[Event]:
        """End of input: decode what can still be, reject what was left unfinished."""
        events = self._decode(self.framer.finish())
        return events + self._drop_segments("input ended")

    def interrupt(self, why: str) -> list[Event]:
        """The line went down: drop and reject whatever telegram or frame was under way."""
        events = self._decode(self.framer.drop_partial(why))
        return events + self._drop_segments(why)

    def _drop_segments(self, why: str) -> list[Event]:
        events: list[Event] = []
        for reassembler in self._segments.values():
            if reassembler.pending:
                reassembler.reset()
                events.append(self._reject(MalformedFrame(f"{why} inside a segmented APDU")))
        for assembler in self._blocks.values():
            dropped = assembler.drop(f"{why} inside a block transfer")
            if dropped is not None:
                events.append(self._reject(dropped))
        return events

    def _decode(self, items: list[RawFrame | MeterError]) -> list[Event]:
        events: list[Event] = []
        for item in items:
            if isinstance(item, MeterError):
                events.append(self._reject(item, 0))
                continue
            try:
                reading = self._decode_frame(item, events)
            except MeterError as error:
                events.append(self._reject(error, len(item.data)))
            except _DECODING_ERRORS as error:
                events.append(self._reject(MalformedFrame(f"undecodable {item.kind} frame: {error}"), len(item.data)))
            else:
                if reading is not None:
                    self.readings += 1
                    events.append(reading)
        return events

    def _reject(self, error: MeterError, size: int = 0) -> Rejection:
        self.rejections[error.reason] += 1
        return Rejection(error.reason, str(error), size)

    def _decode_frame(self, frame: RawFrame, events: list[Event]) -> Reading | None:
        if frame.kind == DSMR:
            return self._parse_dsmr(frame.data)
        if frame.kind == APDU:
            return self.decode_apdu(frame.data)
        segment = mbus_segment(frame.data) if frame.kind == MBUS else hdlc_segment(frame.data)
        apdu, dropped = self._segments[frame.kind].add(segment)
        if dropped is not None:
            events.append(self._reject(dropped))
        if apdu is not None and apdu[:1] == bytes([GENERAL_BLOCK_TRANSFER]):
            apdu, broken = self._blocks[frame.kind].add(parse_block(apdu))
            events.extend(self._reject(error) for error in broken)
        return self.decode_apdu(apdu) if apdu is not None else None

    def _parse_dsmr(self, telegram: bytes) -> Reading:
        reading = parse_telegram(telegram, self.spec)
        if odd_identification(telegram):
            self.notices["odd_identification"] += 1
        return reading

    def decode_apdu(self, apdu: bytes) -> Reading:
        """One whole APDU: ciphered (0xDB), a plain DataNotification (0x0F), or DSMR text.

        Plain notifications come from meters whose customer port is not encrypted: they carry
        no system title or frame counter, so there is nothing to check for replay.
        """
        if not apdu:
            raise MalformedFrame("empty APDU")
        if apdu[0] == GENERAL_GLO_CIPHERING:
            return self._decode_ciphered(apdu)
        return self._decode_plaintext(apdu, None)

    def _decode_ciphered(self, apdu: bytes) -> Reading:
        ciphered = parse_ciphered(apdu)
        title = ciphered.system_title.hex().upper()
        plaintext = decrypt(ciphered, self.keys)
        last = self._frame_counters.get(title)
        if last is not None and ciphered.frame_counter <= last:
            raise ReplayedFrame(
                f"frame counter {ciphered.frame_counter} from meter {ciphered.meter} "
                f"is not above the last accepted {last}"
            )
        try:
            reading = self._decode_plaintext(plaintext, title)
        except (MeterError, *_DECODING_ERRORS) as error:
            if ciphered.authenticated:
                raise
            # Without a tag, garbage from a wrong key can start like a real APDU by chance.
            raise WrongMeterKey(
                f"frame from meter {ciphered.meter} does not decrypt with the configured key ({error})"
            ) from None
        self._frame_counters[title] = ciphered.frame_counter
        return replace(reading, system_title=title, frame_counter=ciphered.frame_counter)

    def _decode_plaintext(self, plaintext: bytes, system_title: str | None) -> Reading:
        if plaintext[:1] == bytes([DATA_NOTIFICATION]):
            return parse_notification(plaintext, self.local, system_title)
        if plaintext[:1] == b"/":
            reading = self._parse_dsmr(plaintext)
            return reading if reading.meter_id or system_title is None else replace(reading, meter_id=system_title)
        if plaintext[:1] == bytes([GENERAL_BLOCK_TRANSFER]):
            raise UnsupportedFrame("a block transfer inside a block transfer or a ciphered APDU is not decoded")
        raise UnsupportedFrame(f"APDU tag 0x{plaintext[0]:02X} is not a DataNotification or DSMR text")
