"""Unencrypted DataNotifications: meters whose customer port is not encrypted push tag 0x0F as it is."""

from decimal import Decimal

from dlms_kit import LLC, e450_stream, gbt_blocks, hdlc_frame, mbus_frames, notification
from node.meter.decoder import MeterDecoder
from node.meter.dlms.ciphering import MeterKeys


def test_an_unencrypted_notification_in_an_hdlc_frame_is_read_without_a_key():
    decoder = MeterDecoder()

    [reading] = decoder.feed(hdlc_frame(LLC + notification(import_wh=2_000_001))) + decoder.finish()

    assert (reading.values["1-0:1.8.0"].value, reading.values["1-0:1.8.0"].unit) == (Decimal(2_000_001), "Wh")
    assert (reading.meter_id, reading.source, reading.crc_ok) == ("1LGZ0067731200", "dlms", None)
    # Nothing to replay-check: a plain frame has no system title or frame counter.
    assert (reading.system_title, reading.frame_counter, decoder.frame_counters) == (None, None, {})


def test_an_unencrypted_notification_is_read_when_a_key_is_configured_too():
    decoder = MeterDecoder(MeterKeys(bytes(16)))

    [reading] = decoder.feed(hdlc_frame(LLC + notification())) + decoder.finish()

    assert reading.values["1-0:2.8.0"].value == Decimal(89_000)


def test_an_unencrypted_notification_in_mbus_segments_is_read():
    frames = mbus_frames(notification(padding=300), 100)
    decoder = MeterDecoder()

    [reading] = decoder.feed(b"".join(frames)) + decoder.finish()

    assert len(frames) == 5
    assert reading.values["1-0:1.7.0"].value == Decimal(1520)


def test_an_unencrypted_notification_in_block_transfer_blocks_is_read():
    decoder = MeterDecoder()

    [reading] = decoder.feed(e450_stream(gbt_blocks(notification(padding=200), 3))) + decoder.finish()

    assert reading.values["1-0:1.8.0"].unit == "Wh"


def test_a_notification_without_a_date_time_takes_its_clock_object():
    plain = notification()
    without_time = plain[:5] + b"\x00" + plain[6 + 12 :]  # no date-time in the header
    decoder = MeterDecoder()

    [reading] = decoder.feed(hdlc_frame(LLC + without_time)) + decoder.finish()

    assert reading.timestamp.isoformat() == "2024-03-01T12:00:05+01:00"
