"""Encrypted DLMS frames, built here byte by byte with pycryptodome rather than by the simulator."""

import struct
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
from Crypto.Cipher import AES

from node.meter.decoder import MeterDecoder
from node.meter.dlms.ciphering import MeterKeys

SYSTEM_TITLE = b"KFM" + bytes.fromhex("1020304050")
TITLE_TEXT = "4B464D1020304050 (KFM)"


def cosem_time(year, month, day, hour, minute, second, deviation=-60):
    return struct.pack(">HBBBBBBBhB", year, month, day, 0xFF, hour, minute, second, 0, deviation, 0)


def notification_flat() -> bytes:
    """A flat body, as Kaifa meters send: OBIS, value, {scaler, unit}, OBIS, value, ..."""
    items = [
        b"\x09\x06\x00\x00\x01\x00\x00\xff" + b"\x09\x0c" + cosem_time(2024, 1, 15, 10, 30, 5),
        b"\x09\x06\x00\x00\x60\x01\x00\xff" + b"\x0a\x0e" + b"1KFM0200123456",
        b"\x09\x06\x01\x00\x01\x08\x00\xff" + b"\x06" + (12345678).to_bytes(4, "big") + b"\x02\x02\x0f\x00\x16\x1e",
        b"\x09\x06\x01\x00\x02\x08\x00\xff" + b"\x06" + (4321).to_bytes(4, "big") + b"\x02\x02\x0f\x00\x16\x1e",
        b"\x09\x06\x01\x00\x20\x07\x00\xff" + b"\x12" + (2301).to_bytes(2, "big") + b"\x02\x02\x0f\xff\x16\x23",
        b"\x09\x06\x01\x00\x1f\x07\x00\xff" + b"\x12" + (152).to_bytes(2, "big") + b"\x02\x02\x0f\xfe\x16\x21",
    ]
    count = 2 * 2 + 4 * 3
    return b"\x0f\x00\x00\x00\x01" + b"\x00" + b"\x02" + bytes([count]) + b"".join(items)


def glo_ciphering(plaintext, counter, key, auth_key=None, control=0x30, long_length=False):
    nonce = SYSTEM_TITLE + counter.to_bytes(4, "big")
    cipher = AES.new(key, AES.MODE_GCM, nonce=nonce, mac_len=12)
    if control & 0x10:
        cipher.update(bytes([control]) + auth_key)
    ciphertext, tag = cipher.encrypt_and_digest(plaintext)
    body = bytes([control]) + counter.to_bytes(4, "big") + ciphertext + (tag if control & 0x10 else b"")
    length = (b"\x82" + len(body).to_bytes(2, "big")) if long_length or len(body) > 127 else bytes([len(body)])
    return b"\xdb\x08" + SYSTEM_TITLE + length + body


def mbus_long_frames(apdu: bytes, size: int) -> bytes:
    parts = [apdu[i : i + size] for i in range(0, len(apdu), size)]
    out = b""
    for number, part in enumerate(parts):
        ci = number | (0x10 if number == len(parts) - 1 else 0)
        body = bytes([0x53, 0xFF, ci, 0x01, 0x67]) + part
        out += bytes([0x68, len(body), len(body), 0x68]) + body + bytes([sum(body) & 0xFF, 0x16])
    return out


def decode_all(decoder, data: bytes):
    return decoder.feed(data) + decoder.finish()


def test_authenticated_encrypted_notification_gives_scaled_values_with_units(meter_keys):
    frame = glo_ciphering(notification_flat(), 7, meter_keys.encryption_key, meter_keys.authentication_key)

    [reading] = decode_all(MeterDecoder(meter_keys), frame)

    assert reading.meter_id == "1KFM0200123456"
    assert reading.timestamp == datetime(2024, 1, 15, 10, 30, 5, tzinfo=timezone(timedelta(hours=1)))
    assert (reading.values["1-0:1.8.0"].value, reading.values["1-0:1.8.0"].unit) == (Decimal("12345678"), "Wh")
    assert (reading.values["1-0:32.7.0"].value, reading.values["1-0:32.7.0"].unit) == (Decimal("230.1"), "V")
    assert reading.to_json()["values"]["1-0:31.7.0"] == {"value": "1.52", "unit": "A"}
    assert (reading.system_title, reading.frame_counter) == ("4B464D1020304050", 7)


@pytest.mark.parametrize("control", [0x20, 0x21])
def test_encrypted_only_frames_decrypt_without_a_tag(control, meter_keys):
    key = meter_keys.encryption_key
    frame = glo_ciphering(notification_flat(), 1, key, control=control)

    [reading] = decode_all(MeterDecoder(MeterKeys(key)), frame)

    assert reading.values["1-0:2.8.0"].value == Decimal("4321")


def test_long_form_length_is_read(meter_keys):
    frame = glo_ciphering(notification_flat(), 3, meter_keys.encryption_key, meter_keys.authentication_key, long_length=True)

    [reading] = decode_all(MeterDecoder(meter_keys), frame)

    assert frame[10] == 0x82
    assert reading.frame_counter == 3


def test_wrong_key_is_rejected_with_a_reason_naming_the_system_title(meter_keys, other_key):
    frame = glo_ciphering(notification_flat(), 1, meter_keys.encryption_key, meter_keys.authentication_key)
    decoder = MeterDecoder(MeterKeys(other_key, meter_keys.authentication_key))

    [rejection] = decode_all(decoder, frame)

    assert rejection.reason == "wrong_key"
    assert TITLE_TEXT in rejection.detail
    assert decoder.rejections == {"wrong_key": 1}


def test_wrong_key_on_an_unauthenticated_frame_is_also_named(meter_keys, other_key):
    frame = glo_ciphering(notification_flat(), 1, meter_keys.encryption_key, control=0x20)

    [rejection] = decode_all(MeterDecoder(MeterKeys(other_key)), frame)

    assert (rejection.reason, TITLE_TEXT in rejection.detail) == ("wrong_key", True)


def test_altered_tag_is_rejected_as_bad_tag(meter_keys):
    frame = bytearray(glo_ciphering(notification_flat(), 1, meter_keys.encryption_key, meter_keys.authentication_key))
    frame[-1] ^= 0x01

    [rejection] = decode_all(MeterDecoder(meter_keys), bytes(frame))

    assert rejection.reason == "bad_tag"
    assert TITLE_TEXT in rejection.detail


def test_wrong_authentication_key_is_rejected_as_bad_tag(meter_keys, other_key):
    frame = glo_ciphering(notification_flat(), 1, meter_keys.encryption_key, other_key)

    [rejection] = decode_all(MeterDecoder(meter_keys), frame)

    assert rejection.reason == "bad_tag"


def test_replayed_or_older_frame_counter_is_rejected_and_newer_accepted(meter_keys):
    frames = [
        glo_ciphering(notification_flat(), counter, meter_keys.encryption_key, meter_keys.authentication_key)
        for counter in (5, 5, 4, 6)
    ]
    decoder = MeterDecoder(meter_keys)

    events = [event for frame in frames for event in decoder.feed(frame)]

    assert [getattr(event, "frame_counter", None) for event in events] == [5, None, None, 6]
    assert [getattr(event, "reason", None) for event in events] == [None, "replayed_frame", "replayed_frame", None]
    assert "frame counter 5 from meter 4B464D1020304050 (KFM) is not above the last accepted 5" in events[1].detail
    assert decoder.frame_counters == {"4B464D1020304050": 6}


def test_frame_counters_carried_over_from_a_previous_run_reject_old_frames(meter_keys):
    frame = glo_ciphering(notification_flat(), 9, meter_keys.encryption_key, meter_keys.authentication_key)

    [rejection] = decode_all(MeterDecoder(meter_keys, frame_counters={"4B464D1020304050": 9}), frame)

    assert rejection.reason == "replayed_frame"


def test_encrypted_frame_without_a_configured_key_is_rejected_asking_for_the_key(other_key):
    frame = glo_ciphering(notification_flat(), 1, other_key, control=0x20)

    [rejection] = decode_all(MeterDecoder(), frame)

    assert rejection.reason == "no_key"
    assert "--key" in rejection.detail and TITLE_TEXT in rejection.detail


def test_multi_segment_mbus_message_is_reassembled(meter_keys):
    apdu = glo_ciphering(notification_flat(), 2, meter_keys.encryption_key, meter_keys.authentication_key)
    frames = mbus_long_frames(apdu, 60)

    decoder = MeterDecoder(meter_keys)
    events = [event for index in range(0, len(frames), 13) for event in decoder.feed(frames[index : index + 13])]

    assert frames.count(b"\x53\xff") >= 3
    assert [event.values["1-0:1.8.0"].value for event in events] == [Decimal("12345678")]


def test_mbus_frame_with_bad_checksum_is_rejected_and_its_message_dropped(meter_keys):
    apdu = glo_ciphering(notification_flat(), 2, meter_keys.encryption_key, meter_keys.authentication_key)
    frames = bytearray(mbus_long_frames(apdu, 60))
    second_start = frames[1] + 6
    second_checksum = second_start + frames[second_start + 1] + 4
    frames[second_checksum] ^= 0xFF
    decoder = MeterDecoder(meter_keys)

    events = decode_all(decoder, bytes(frames))

    assert not [event for event in events if hasattr(event, "values")]
    assert decoder.rejections["bad_checksum"] == 1
    assert decoder.readings == 0


def test_segment_arriving_without_its_predecessors_is_dropped_as_partial(meter_keys):
    apdu = glo_ciphering(notification_flat(), 2, meter_keys.encryption_key, meter_keys.authentication_key)
    frames = mbus_long_frames(apdu, 60)
    first_length = frames[1] + 6
    decoder = MeterDecoder(meter_keys)

    events = decode_all(decoder, frames[first_length:] + frames)

    assert [event.frame_counter for event in events if hasattr(event, "values")] == [2]
    assert decoder.rejections["partial_telegram"] >= 1


def test_hdlc_frame_with_llc_header_carries_the_apdu(meter_keys):
    from node.meter.crc import crc16_x25

    apdu = glo_ciphering(notification_flat(), 4, meter_keys.encryption_key, meter_keys.authentication_key)
    information = b"\xe6\xe7\x00" + apdu
    header = bytes([0xA0 | ((len(information) + 9) >> 8), (len(information) + 9) & 0xFF, 0x03, 0x21, 0x13])
    head = header + crc16_x25(header).to_bytes(2, "little")
    frame = b"\x7e" + head + information + crc16_x25(head + information).to_bytes(2, "little") + b"\x7e"

    [reading] = decode_all(MeterDecoder(meter_keys), frame)

    assert reading.frame_counter == 4


def test_dsmr_text_inside_glo_ciphering_is_parsed_with_its_crc(meter_keys, telegram_file):
    frame = glo_ciphering(telegram_file("luxembourg_smarty"), 11, meter_keys.encryption_key, meter_keys.authentication_key)

    [reading] = decode_all(MeterDecoder(meter_keys), frame)

    assert (reading.meter_id, reading.crc_ok, reading.frame_counter) == ("SAG3082200002160", True, 11)
    assert reading.values["1-0:1.8.0"].value == Decimal("341.230")


def test_meter_keys_are_never_shown_in_repr(meter_keys):
    assert meter_keys.encryption_key.hex() not in repr(meter_keys)
    assert meter_keys.authentication_key.hex() not in repr(meter_keys)


def test_meter_key_of_the_wrong_length_is_refused_clearly():
    with pytest.raises(ValueError, match="16 bytes"):
        MeterKeys.from_hex("00112233")
