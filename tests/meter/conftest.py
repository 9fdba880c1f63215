"""Fixtures for the meter tests: sample telegrams and helpers that build telegrams with CRCs."""

from __future__ import annotations

from pathlib import Path

import pytest

from node.meter.crc import crc16_arc

TELEGRAMS = Path(__file__).parent / "telegrams"


def load_telegram(name: str) -> bytes:
    """A telegram from tests/meter/telegrams (CRLF line ends, as meters send)."""
    return (TELEGRAMS / f"{name}.txt").read_bytes()


def with_crc(lines: list[str], digits: int | None = 4) -> bytes:
    """A telegram of `lines` ending in `!` and its CRC (None: no CRC, as DSMR 2.2/3)."""
    body = ("\r\n".join(lines) + "\r\n!").encode("ascii")
    if digits is None:
        return body + b"\r\n"
    crc = crc16_arc(body)
    text = f"{crc:0{digits}X}" if digits == 4 else f"{crc:X}"
    return body + text.encode("ascii") + b"\r\n"


@pytest.fixture
def dsmr5() -> bytes:
    return load_telegram("dsmr5")


@pytest.fixture
def telegram_file():
    """Loads a telegram from tests/meter/telegrams by name."""
    return load_telegram


@pytest.fixture
def make_telegram():
    """Builds a telegram from lines, with a CRC of 4 digits, unpadded (digits=0), or none."""
    return with_crc


# Obviously fake keys, fixed so that every run decrypts (and fails to) the same way.
TEST_KEY = bytes.fromhex("000102030405060708090a0b0c0d0e0f")
TEST_AUTH_KEY = bytes.fromhex("101112131415161718191a1b1c1d1e1f")
OTHER_KEY = bytes.fromhex("a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5")


@pytest.fixture
def meter_keys():
    from node.meter.dlms.ciphering import MeterKeys

    return MeterKeys(TEST_KEY, TEST_AUTH_KEY)


@pytest.fixture
def other_key() -> bytes:
    """A key that is not the meter's."""
    return OTHER_KEY
