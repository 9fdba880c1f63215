"""Recorded P1 port captures (DSMR text, or encrypted DLMS frames) into samples, each with where it began.

The meter decoder does all the parsing. Text captures are fed to it one telegram at a time, cut
where a telegram starts ('/'), so that every reading or rejection belongs to the line that
telegram started on. Binary captures have no lines: they are fed in small blocks and an event is
placed near the block of bytes where it ended.
"""

from __future__ import annotations

from typing import BinaryIO, Iterator

from node.meter.decoder import Event, MeterDecoder
from node.meter.dlms.ciphering import MeterKeys
from node.meter.dsmr.specs import AUTO, TelegramSpec
from node.meter.framing import ALL_FORMATS, DSMR
from node.meter.reading import Reading, Rejection
from node.store.errors import UnusableReading
from node.store.samples import Sample, sample_from_reading

_READ_SIZE = 1 << 20
_BINARY_BLOCK = 512
_TEXT_BYTES = bytes(range(0x20, 0x7F)) + b"\t\r\n"
Located = tuple[int, Sample | Rejection]


def looks_binary(head: bytes) -> bool:
    """Whether a capture holds bytes no DSMR text telegram has (so: DLMS frames)."""
    return bool(head.translate(None, _TEXT_BYTES))


class P1Capture:
    """Samples from a capture with the line (text) or byte offset (binary) their telegram began at."""

    def __init__(self, stream: BinaryIO, binary: bool, keys: MeterKeys | None = None, spec: TelegramSpec = AUTO):
        self._stream = stream
        self.binary = binary
        self.unit = "byte" if binary else "line"
        # In text only telegrams count: an 'h' or '~' between them is no M-Bus or HDLC frame.
        self.decoder = MeterDecoder(keys=keys, spec=spec, formats=ALL_FORMATS if binary else frozenset({DSMR}))

    def __iter__(self) -> Iterator[Located]:
        return self._binary() if self.binary else self._text()

    def _text(self) -> Iterator[Located]:
        line = 1  # the line that `pending` starts on
        pending = b""
        while chunk := self._stream.read(_READ_SIZE):
            buffer, begin = pending + chunk, 0
            start = buffer.find(b"/", 1)
            while start >= 0:
                piece = buffer[begin:start]
                yield from self._located(line, self.decoder.feed(piece) + self.decoder.interrupt("the next telegram began"))
                line += piece.count(b"\n")
                begin, start = start, buffer.find(b"/", start + 1)
            pending = buffer[begin:]
        yield from self._located(line, self.decoder.feed(pending) + self.decoder.finish())

    def _binary(self) -> Iterator[Located]:
        offset = 0
        while chunk := self._stream.read(_READ_SIZE):
            for at in range(0, len(chunk), _BINARY_BLOCK):
                yield from self._located(offset + at, self.decoder.feed(chunk[at : at + _BINARY_BLOCK]))
            offset += len(chunk)
        yield from self._located(offset, self.decoder.finish())

    @staticmethod
    def _located(where: int, events: list[Event]) -> Iterator[Located]:
        for event in events:
            if isinstance(event, Reading):
                try:
                    yield where, sample_from_reading(event)
                except UnusableReading as error:
                    yield where, Rejection("unusable_reading", str(error))
            else:
                yield where, event
