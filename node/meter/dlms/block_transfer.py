"""DLMS General Block Transfer (tag 0xE0): one APDU pushed as numbered blocks, put back together.

Meters such as the Landis+Gyr E450 push a ciphered APDU too long for one HDLC frame as blocks,
one per frame:

    E0 | block-control | block-number (2) | block-number-ack (2) | length (A-XDR) | block data

Block-control holds the last-block flag (0x80), the streaming flag (0x40) and a window size
(0x3F). A customer port is one-way: nothing can acknowledge or ask for a block again, so the
window, streaming and acknowledgement fields carry nothing to act on. What matters is that the
blocks of one APDU come numbered 1, 2, 3... and the last one says so. A block lost, repeated or
out of order means the APDU cannot be trusted whole: it is dropped, once, with a counted reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from node.meter.dlms.axdr import read_length
from node.meter.errors import BlockTimeout, MalformedFrame, MeterError, MissingBlock, OversizedFrame, RepeatedBlock

GENERAL_BLOCK_TRANSFER = 0xE0
_LAST_BLOCK = 0x80
_STREAMING = 0x40
_WINDOW = 0x3F
FIRST_BLOCK = 1  # block numbers start at 1 (Green Book), so 0 is never a valid first block


@dataclass(frozen=True, slots=True)
class Block:
    """One general-block-transfer APDU."""

    last: bool
    streaming: bool
    window: int
    number: int
    acknowledged: int
    data: bytes


def parse_block(apdu: bytes) -> Block:
    """Split a general-block-transfer APDU; its data must fill the rest of the APDU exactly."""
    if len(apdu) < 7 or apdu[0] != GENERAL_BLOCK_TRANSFER:
        raise MalformedFrame("a general-block-transfer APDU needs its tag, control, two block numbers and a length")
    control = apdu[1]
    length, offset = read_length(apdu, 6)
    if offset + length != len(apdu):
        raise MalformedFrame(f"block says {length} bytes of data, {len(apdu) - offset} present")
    return Block(
        last=bool(control & _LAST_BLOCK),
        streaming=bool(control & _STREAMING),
        window=control & _WINDOW,
        number=int.from_bytes(apdu[2:4], "big"),
        acknowledged=int.from_bytes(apdu[4:6], "big"),
        data=bytes(apdu[offset:]),
    )


class BlockAssembler:
    """Joins the blocks of one APDU in order, within `max_size` bytes and `timeout` seconds.

    After a drop the remaining blocks of the broken APDU are passed over without another
    rejection, up to the next block 1 (or a pause longer than `timeout`): one broken APDU, in
    whatever disorder its blocks come, costs one count.
    """

    def __init__(self, clock: Callable[[], float], timeout: float = 10.0, max_size: int = 8192):
        self._clock = clock
        self.timeout = timeout
        self.max_size = max_size
        self._parts: list[bytes] = []
        self._size = 0
        self._next = FIRST_BLOCK
        self._skipping = False  # inside an APDU already dropped
        self._last_block_at = 0.0

    @property
    def pending(self) -> bool:
        return bool(self._parts)

    def add(self, block: Block) -> tuple[bytes | None, list[MeterError]]:
        """(the whole APDU if `block` completes it, why any APDU was dropped on the way)."""
        now = self._clock()
        stale = (self._parts or self._skipping) and now - self._last_block_at > self.timeout
        self._last_block_at = now
        dropped: list[MeterError] = []
        if stale:
            if self._parts:
                dropped.append(BlockTimeout(
                    f"block {self._next} did not come within {self.timeout:g} s of block {self._next - 1}"
                ))
            self._reset()
            if dropped and block.number != FIRST_BLOCK:
                self._skipping = True  # a straggler of the APDU just timed out: no second count
                return None, dropped
        if block.number == FIRST_BLOCK:
            if self._parts:
                dropped.append(MissingBlock(f"a new APDU began where block {self._next} was due"))
            self._reset()
        elif self._skipping:
            return None, dropped
        elif block.number != self._next:
            dropped.append(self._broken(block))
            self._reset()
            self._skipping = True
            return None, dropped
        if self._size + len(block.data) > self.max_size:
            self._reset()
            self._skipping = True
            dropped.append(OversizedFrame(f"a block-transfer APDU grew past {self.max_size} bytes"))
            return None, dropped
        self._parts.append(block.data)
        self._size += len(block.data)
        self._next = block.number + 1
        if not block.last:
            return None, dropped
        apdu = b"".join(self._parts)
        self._reset()
        return apdu, dropped

    def drop(self, why: str) -> MeterError | None:
        """Forget an unfinished APDU (end of input, line lost); the reason if there was one."""
        had_parts = bool(self._parts)
        due = self._next
        self._reset()
        return MissingBlock(f"{why} where block {due} was due") if had_parts else None

    def _broken(self, block: Block) -> MeterError:
        if not self._parts:
            return MissingBlock(f"block {block.number} arrived without block {FIRST_BLOCK}")
        if block.number < self._next:
            return RepeatedBlock(f"block {block.number} came again after block {self._next - 1}")
        return MissingBlock(f"block {block.number} arrived where block {self._next} was due")

    def _reset(self) -> None:
        self._parts = []
        self._size = 0
        self._next = FIRST_BLOCK
        self._skipping = False
