"""Why a telegram or frame was rejected: every reader error is a MeterError with a short `reason`.

The reason strings are the keys of the reader's rejection counters, so they stay stable.
"""

from __future__ import annotations

from node.errors import NodeError


class MeterError(NodeError):
    """A telegram or frame from the meter could not be turned into a reading."""

    reason = "malformed"


class MalformedTelegram(MeterError):
    """A DSMR telegram does not have the P1 structure (header, objects, `!` trailer)."""

    reason = "malformed_telegram"


class CrcMismatch(MeterError):
    """A DSMR telegram's CRC-16 does not match its content."""

    reason = "crc_mismatch"


class MissingCrc(MeterError):
    """A telegram for a DSMR version that requires a CRC came without one."""

    reason = "missing_crc"


class PartialTelegram(MeterError):
    """A telegram or frame was cut off (new start, disconnect, or end of input) before it ended."""

    reason = "partial_telegram"


class OversizedFrame(MeterError):
    """More bytes arrived for one telegram or frame than any meter sends."""

    reason = "oversized_frame"


class BadChecksum(MeterError):
    """An M-Bus or HDLC frame's checksum does not match its content."""

    reason = "bad_checksum"


class MalformedFrame(MeterError):
    """A binary frame or APDU breaks its encoding rules (lengths, tags, segments)."""

    reason = "malformed_frame"


class UnsupportedFrame(MeterError):
    """A well-formed frame carries something this reader does not decode."""

    reason = "unsupported_frame"


class MissingMeterKey(MeterError):
    """An encrypted frame arrived but no decryption key is configured."""

    reason = "no_key"


class WrongMeterKey(MeterError):
    """An encrypted frame does not decrypt to anything meaningful with the configured key."""

    reason = "wrong_key"


class BadAuthenticationTag(MeterError):
    """An encrypted frame decrypts but its GCM tag fails (wrong authentication key or tampering)."""

    reason = "bad_tag"


class ReplayedFrame(MeterError):
    """An encrypted frame's counter does not exceed the last accepted one from that meter."""

    reason = "replayed_frame"


class MissingBlock(MeterError):
    """A General Block Transfer lost a block (a gap, a block without its first, or a new APDU
    before the last block): the APDU it belonged to is dropped."""

    reason = "missing_block"


class RepeatedBlock(MeterError):
    """A General Block Transfer block came again: the APDU it belonged to is dropped."""

    reason = "repeated_block"


class BlockTimeout(MeterError):
    """The blocks of one General Block Transfer APDU stopped coming before its last block."""

    reason = "block_timeout"


class MeterSetupError(MeterError):
    """The reader cannot be set up as asked: a key source or the frame counter file.

    `setting` names the [meter] setting (or file) concerned; the message never holds a key.
    """

    reason = "setup"

    def __init__(self, message: str, setting: str = ""):
        super().__init__(message)
        self.setting = setting
