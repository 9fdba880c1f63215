"""Build what encrypted DLMS meters send: DataNotifications, general-glo-ciphering, link frames.

The simulator uses these so the whole pipeline can run without a meter; they write the same
byte layouts that node.meter.dlms reads.
"""

from __future__ import annotations

import struct
from datetime import datetime, timedelta
from decimal import Decimal

from node.meter.crc import crc16_x25

LLC_HEADER = b"\xe6\xe7\x00"  # destination and source LSAP, quality: what an HDLC push carries first
_UNIT_CODES = {"Wh": 30, "W": 27, "varh": 32, "var": 29, "V": 35, "A": 33, "Hz": 44, "m3": 13, None: 255}


def axdr_length(length: int) -> bytes:
    """An A-XDR length: one byte below 128, else 0x8N and N big-endian bytes."""
    if length < 0x80:
        return bytes([length])
    size = (length.bit_length() + 7) // 8
    return bytes([0x80 | size]) + length.to_bytes(size, "big")


def cosem_date_time(moment: datetime) -> bytes:
    """The 12-byte COSEM date-time of an aware datetime (deviation = minutes local -> UTC)."""
    offset = moment.utcoffset() or timedelta(0)
    deviation = -int(offset.total_seconds() // 60)
    dst = 0x80 if moment.dst() else 0x00
    return struct.pack(
        ">HBBBBBBBhB", moment.year, moment.month, moment.day, moment.isoweekday(),
        moment.hour, moment.minute, moment.second, moment.microsecond // 10_000, deviation, dst,
    )


def obis_bytes(code: str) -> bytes:
    """The 6-byte logical name of an `A-B:C.D.E` code (F = 255)."""
    a_b, c_d_e = code.split(":")
    a, b = a_b.split("-")
    c, d, e = c_d_e.split(".")
    return bytes([int(a), int(b), int(c), int(d), int(e), 255])


def data_notification(
    values: dict[str, tuple[Decimal, str | None]],
    timestamp: datetime,
    meter_id: str,
    invoke_id: int = 0,
) -> bytes:
    """A DataNotification whose body is a structure of {OBIS, value, {scaler, unit}} structures.

    Values are encoded as double-long-unsigned with the scaler that keeps every given digit.
    """
    elements = [
        b"\x02\x02\x09\x06" + obis_bytes("0-0:1.0.0") + b"\x09\x0c" + cosem_date_time(timestamp),
        b"\x02\x02\x09\x06" + obis_bytes("0-0:96.1.0") + b"\x0a" + axdr_length(len(meter_id)) + meter_id.encode("ascii"),
    ]
    for code, (value, unit) in values.items():
        exponent = min(0, value.as_tuple().exponent)
        integer = int(value.scaleb(-exponent))
        elements.append(
            b"\x02\x03\x09\x06" + obis_bytes(code)
            + b"\x06" + integer.to_bytes(4, "big")
            + b"\x02\x02\x0f" + struct.pack(">b", exponent) + b"\x16" + bytes([_UNIT_CODES[unit]])
        )
    body = b"\x02" + axdr_length(len(elements)) + b"".join(elements)
    return b"\x0f" + invoke_id.to_bytes(4, "big") + b"\x0c" + cosem_date_time(timestamp) + body


def glo_cipher(
    plaintext: bytes,
    system_title: bytes,
    frame_counter: int,
    encryption_key: bytes,
    authentication_key: bytes | None = None,
    security_control: int = 0x30,
) -> bytes:
    """A general-glo-ciphering APDU: AES-128-GCM, IV = title ‖ counter, AAD = SC ‖ AK when
    authenticated (SC bit 0x10), then a 12-byte tag."""
    from Crypto.Cipher import AES

    cipher = AES.new(encryption_key, AES.MODE_GCM, nonce=system_title + frame_counter.to_bytes(4, "big"), mac_len=12)
    authenticated = bool(security_control & 0x10)
    if authenticated:
        if authentication_key is None:
            raise ValueError("an authenticated frame (SC 0x30) needs the authentication key")
        cipher.update(bytes([security_control]) + authentication_key)
    ciphertext, tag = cipher.encrypt_and_digest(plaintext)
    body = bytes([security_control]) + frame_counter.to_bytes(4, "big") + ciphertext + (tag if authenticated else b"")
    return b"\xdb\x08" + system_title + axdr_length(len(body)) + body


def mbus_frames(apdu: bytes, segment_size: int = 228, address: int = 0xFF) -> bytes:
    """The APDU in M-Bus long frames `68 L L 68 C A CI 01 67 data CS 16`, split into segments."""
    chunks = [apdu[i : i + segment_size] for i in range(0, len(apdu), segment_size)] or [b""]
    out = bytearray()
    for number, chunk in enumerate(chunks):
        control_info = (number & 0x0F) | (0x10 if number == len(chunks) - 1 else 0)
        body = bytes([0x53, address, control_info, 0x01, 0x67]) + chunk
        out += bytes([0x68, len(body), len(body), 0x68]) + body + bytes([sum(body) & 0xFF, 0x16])
    return bytes(out)


def hdlc_frame(information: bytes, more_follow: bool = False) -> bytes:
    """One HDLC type-3 frame around `information`; `more_follow` sets the segmentation (S) bit."""
    header_rest = b"\x03\x21\x13"  # client address, server address, control (I frame)
    length = 2 + len(header_rest) + 2 + len(information) + 2
    frame_format = bytes([0xA0 | (0x08 if more_follow else 0) | (length >> 8) & 0x07, length & 0xFF])
    header = frame_format + header_rest
    hcs = crc16_x25(header).to_bytes(2, "little")
    without_fcs = header + hcs + information
    return b"\x7e" + without_fcs + crc16_x25(without_fcs).to_bytes(2, "little") + b"\x7e"


def hdlc_frames(apdu: bytes, segment_size: int = 200) -> bytes:
    """The APDU (after the LLC header) in HDLC type-3 frames, segmented with the S bit."""
    information = LLC_HEADER + apdu
    chunks = [information[i : i + segment_size] for i in range(0, len(information), segment_size)]
    return b"".join(hdlc_frame(chunk, more_follow=number < len(chunks) - 1) for number, chunk in enumerate(chunks))


def general_blocks(apdu: bytes, block_size: int = 112, first_number: int = 1) -> list[bytes]:
    """The APDU as General Block Transfer APDUs: `E0 control number(2) ack(2) length data`.

    As push meters send them: streaming set and window 0 on every block but the last, which has
    the last-block bit instead; nothing is acknowledged (0).
    """
    chunks = [apdu[i : i + block_size] for i in range(0, len(apdu), block_size)] or [b""]
    blocks = []
    for index, chunk in enumerate(chunks):
        control = 0x80 if index == len(chunks) - 1 else 0x40
        number = (first_number + index).to_bytes(2, "big")
        blocks.append(bytes([0xE0, control]) + number + b"\x00\x00" + axdr_length(len(chunk)) + chunk)
    return blocks


def gbt_hdlc_frames(apdu: bytes, block_size: int = 112) -> bytes:
    """What a Landis+Gyr E450 pushes: one block per HDLC frame, the LLC header in the first only."""
    blocks = general_blocks(apdu, block_size)
    return b"".join(hdlc_frame((LLC_HEADER if index == 0 else b"") + block) for index, block in enumerate(blocks))
