"""DLMS frames for the tests, built byte by byte as meters build them (not with the simulator,
so that a mistake shared by the simulator and the decoder cannot pass unnoticed)."""

from __future__ import annotations

import struct
from pathlib import Path

from Crypto.Cipher import AES

from node.meter.crc import crc16_x25

SYSTEM_TITLE = b"LGZ" + bytes.fromhex("6773120001")  # a Landis+Gyr title
TITLE_HEX = SYSTEM_TITLE.hex().upper()
LLC = b"\xe6\xe7\x00"
TELEGRAMS = Path(__file__).parent / "telegrams"


def length(n: int) -> bytes:
    return bytes([n]) if n < 0x80 else b"\x82" + n.to_bytes(2, "big")


def cosem_time(year, month, day, hour, minute, second, deviation=-60) -> bytes:
    return struct.pack(">HBBBBBBBhB", year, month, day, 0xFF, hour, minute, second, 0, deviation, 0)


def register(obis: bytes, value: int, scaler: int = 0, unit: int = 30) -> bytes:
    """{OBIS, double-long-unsigned, {scaler, unit}} as a structure."""
    return (b"\x02\x03\x09\x06" + obis + b"\x06" + value.to_bytes(4, "big")
            + b"\x02\x02\x0f" + struct.pack(">b", scaler) + b"\x16" + bytes([unit]))


def notification(import_wh: int = 1_234_567, export_wh: int = 89_000, padding: int = 0) -> bytes:
    """A DataNotification as Austrian meters push it: date-time, then {OBIS, value, scaler-unit}s.

    `padding` adds a text object of that many bytes, to make an APDU that needs several blocks.
    """
    elements = [
        b"\x02\x02\x09\x06\x00\x00\x01\x00\x00\xff\x09\x0c" + cosem_time(2024, 3, 1, 12, 0, 5),
        b"\x02\x02\x09\x06\x00\x00\x60\x01\x00\xff\x0a\x0e" + b"1LGZ0067731200",
        register(b"\x01\x00\x01\x08\x00\xff", import_wh),
        register(b"\x01\x00\x02\x08\x00\xff", export_wh),
        register(b"\x01\x00\x01\x07\x00\xff", 1520, unit=27),
    ]
    if padding:
        elements.append(b"\x02\x02\x09\x06\x00\x00\x60\x0d\x00\xff\x0a" + length(padding) + b"x" * padding)
    body = b"\x02" + bytes([len(elements)]) + b"".join(elements)
    return b"\x0f\x00\x00\x00\x01\x0c" + cosem_time(2024, 3, 1, 12, 0, 5) + body


def glo_ciphering(plaintext: bytes, counter: int, key: bytes, auth_key: bytes | None, control: int = 0x30) -> bytes:
    """General-glo-ciphering: AES-GCM, IV = title ‖ counter, AAD = SC ‖ AK, 12-byte tag."""
    cipher = AES.new(key, AES.MODE_GCM, nonce=SYSTEM_TITLE + counter.to_bytes(4, "big"), mac_len=12)
    if control & 0x10:
        cipher.update(bytes([control]) + auth_key)
    ciphertext, tag = cipher.encrypt_and_digest(plaintext)
    body = bytes([control]) + counter.to_bytes(4, "big") + ciphertext + (tag if control & 0x10 else b"")
    return b"\xdb\x08" + SYSTEM_TITLE + length(len(body)) + body


def gbt_block(number: int, data: bytes, last: bool, streaming: bool = True) -> bytes:
    """E0, block control (last 0x80, streaming 0x40, window 0), number, ack 0, length, data."""
    control = (0x80 if last else 0) | (0x40 if streaming and not last else 0)
    return bytes([0xE0, control]) + number.to_bytes(2, "big") + b"\x00\x00" + length(len(data)) + data


def gbt_blocks(apdu: bytes, count: int) -> list[bytes]:
    """The APDU cut into `count` blocks numbered from 1."""
    bounds = [len(apdu) * i // count for i in range(count + 1)]
    parts = [apdu[bounds[i] : bounds[i + 1]] for i in range(count)]
    return [gbt_block(n + 1, part, last=n == count - 1) for n, part in enumerate(parts)]


def hdlc_frame(information: bytes, segmented: bool = False) -> bytes:
    """An HDLC type-3 UI frame as the E450 sends it: 2-byte destination, 1-byte source address."""
    addresses_and_control = b"\xce\xff\x03\x13"
    frame_length = 2 + len(addresses_and_control) + 2 + len(information) + 2
    header = bytes([0xA0 | (0x08 if segmented else 0) | frame_length >> 8, frame_length & 0xFF]) + addresses_and_control
    head = header + crc16_x25(header).to_bytes(2, "little")
    return b"\x7e" + head + information + crc16_x25(head + information).to_bytes(2, "little") + b"\x7e"


def e450_stream(blocks: list[bytes]) -> bytes:
    """Each block in its own HDLC frame; only the first block's frame opens with the LLC header."""
    return b"".join(hdlc_frame((LLC if block[2:4] == b"\x00\x01" else b"") + block) for block in blocks)


def mbus_frames(apdu: bytes, size: int) -> list[bytes]:
    """M-Bus long frames `68 L L 68 53 FF CI 01 67 data CS 16`: CI = segment number mod 16, 0x10 on the last."""
    parts = [apdu[i : i + size] for i in range(0, len(apdu), size)]
    frames = []
    for number, part in enumerate(parts):
        ci = (number & 0x0F) | (0x10 if number == len(parts) - 1 else 0)
        body = bytes([0x53, 0xFF, ci, 0x01, 0x67]) + part
        frames.append(bytes([0x68, len(body), len(body), 0x68]) + body + bytes([sum(body) & 0xFF, 0x16]))
    return frames


def e450_capture() -> bytes:
    """The recorded E450 push in tests/meter/telegrams/e450_gbt_push.hex."""
    lines = (TELEGRAMS / "e450_gbt_push.hex").read_text().splitlines()
    return bytes.fromhex("".join(line for line in lines if not line.startswith("#")))
