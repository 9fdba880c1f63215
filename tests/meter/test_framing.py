"""Cutting a byte stream into telegrams: splits, garbage, partials and oversized input."""

from decimal import Decimal

import pytest

from node.meter.decoder import MeterDecoder
from node.meter.framing import Framer, RawFrame


def readings_of(events):
    return [event for event in events if hasattr(event, "values")]


def test_telegram_split_at_every_possible_point_is_read_once(dsmr5):
    for cut in range(1, len(dsmr5)):
        decoder = MeterDecoder()

        events = decoder.feed(dsmr5[:cut]) + decoder.feed(dsmr5[cut:])

        assert [reading.meter_id for reading in readings_of(events)] == ["K8EG004046395507"], cut
        assert decoder.rejections == {}


def test_telegram_fed_one_byte_at_a_time_is_read(dsmr5):
    decoder = MeterDecoder()

    events = [event for byte in dsmr5 for event in decoder.feed(bytes([byte]))]

    assert len(readings_of(events)) == 1


def test_garbage_between_telegrams_is_skipped_and_counted_as_bytes(dsmr5):
    decoder = MeterDecoder()

    events = decoder.feed(b"\x00\xffnoise" + dsmr5 + b"\r\n\x13\x37" + dsmr5)

    assert len(readings_of(events)) == 2
    assert decoder.skipped_bytes == 9
    assert decoder.rejections == {}


def test_partial_telegram_followed_by_a_new_one_is_dropped_and_counted(dsmr5):
    decoder = MeterDecoder()

    events = decoder.feed(dsmr5[:200] + dsmr5)

    assert len(readings_of(events)) == 1
    assert decoder.rejections == {"partial_telegram": 1}


def test_partial_telegram_at_end_of_input_is_counted(dsmr5):
    decoder = MeterDecoder()

    events = decoder.feed(dsmr5 + dsmr5[:300]) + decoder.finish()

    assert len(readings_of(events)) == 1
    assert decoder.rejections == {"partial_telegram": 1}


def test_last_telegram_missing_only_its_line_end_is_read_at_end_of_input(dsmr5):
    decoder = MeterDecoder()

    events = decoder.feed(dsmr5.rstrip(b"\r\n")) + decoder.finish()

    assert readings_of(events)[0].values["1-0:1.8.2"].value == Decimal("123456.789")


def test_huge_line_without_end_is_dropped_as_oversized_and_reading_goes_on(dsmr5):
    decoder = MeterDecoder()

    events = decoder.feed(b"/XYZ5 " + b"9" * 100_000) + decoder.feed(dsmr5)

    assert len(readings_of(events)) == 1
    assert decoder.rejections["oversized_frame"] == 1


def test_non_ascii_byte_inside_a_telegram_rejects_it(dsmr5):
    damaged = dsmr5.replace(b"1-0:1.8.1", b"1-0:\xb1.8.1")
    decoder = MeterDecoder(formats=frozenset({"dsmr"}))

    events = decoder.feed(damaged + dsmr5)

    assert len(readings_of(events)) == 1
    assert decoder.rejections == {"malformed_telegram": 1}


def test_framer_gives_raw_telegrams_with_their_format(dsmr5):
    framer = Framer(frozenset({"dsmr"}))

    [frame] = framer.feed(dsmr5)

    assert frame == RawFrame("dsmr", dsmr5)


def test_framer_refuses_unknown_formats():
    with pytest.raises(ValueError, match="formats"):
        Framer(frozenset({"modbus"}))
