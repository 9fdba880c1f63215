"""The DSMR identification line is free text: odd bytes there are counted, never a refusal."""

from decimal import Decimal

import pytest

from node.meter.crc import crc16_arc
from node.meter.decoder import MeterDecoder
from node.meter.dsmr import SPECS, parse_telegram

DATA_LINES = [b"", b"1-3:0.2.8(50)", b"0-0:96.1.1(4530303434303037)", b"1-0:1.8.1(001234.567*kWh)"]


def telegram(ident: bytes, crc: bool = True, data_lines=DATA_LINES, trailer_extra: bytes = b"") -> bytes:
    body = b"\r\n".join([ident, *data_lines]) + b"\r\n!"
    return body + (f"{crc16_arc(body):04X}".encode() if crc else b"") + trailer_extra + b"\r\n"


def readings(events):
    return [event for event in events if hasattr(event, "values")]


def test_an_identification_line_with_0x02_and_0xab_and_a_valid_crc_is_read_and_noticed():
    odd = telegram(b"/XMX5\x02LGF\xab0000001")
    decoder = MeterDecoder()

    [reading] = decoder.feed(odd)

    assert (reading.crc_ok, reading.meter_id) == (True, "E0044007")
    assert reading.header == "XMX5\\x02LGF\\xab0000001"
    assert reading.values["1-0:1.8.1"].value == Decimal("1234.567")
    assert (decoder.rejections, decoder.notices) == ({}, {"odd_identification": 1})


def test_an_odd_identification_line_with_a_wrong_crc_is_still_a_crc_mismatch():
    damaged = telegram(b"/XMX5\x02LGF\xab0000001").replace(b"\xab", b"\xac")
    decoder = MeterDecoder()

    events = decoder.feed(damaged)

    assert [event.reason for event in events] == ["crc_mismatch"]


def test_an_odd_identification_line_split_at_every_point_is_read_once():
    odd = telegram(b"/XMX5\x02LGF\xab0000001")
    for cut in range(1, len(odd)):
        decoder = MeterDecoder(formats=frozenset({"dsmr"}))

        events = decoder.feed(odd[:cut]) + decoder.feed(odd[cut:])

        assert (len(readings(events)), decoder.rejections) == (1, {}), cut


def test_dsmr22_without_crc_accepts_an_odd_identification_line(telegram_file):
    original = telegram_file("dsmr22")
    odd = original.replace(b"/ISk5\\2ME382-1003", b"/ISk5\\2ME382\xfe\x01-1003", 1)
    decoder = MeterDecoder(spec=SPECS["dsmr22"])

    [reading] = decoder.feed(odd) + decoder.finish()

    assert odd != original
    assert (reading.crc_ok, reading.meter_id) == (None, "KAL7005109714513")
    assert decoder.notices == {"odd_identification": 1}


def test_dsmr22_still_refuses_a_non_ascii_byte_in_a_data_line():
    odd = telegram(b"/ISk5\\2ME382-1003", crc=False, data_lines=[b"", b"0-0:96.1.1(4530\xb13434303037)"])
    decoder = MeterDecoder(spec=SPECS["dsmr22"])

    events = decoder.feed(odd + telegram(b"/ISk5\\2ME382-1003", crc=False)) + decoder.finish()

    assert len(readings(events)) == 1
    assert decoder.rejections == {"malformed_telegram": 1}


def test_a_slash_in_the_identification_line_still_starts_a_new_telegram():
    cut_off = b"/XMX5 half an identific"
    decoder = MeterDecoder()

    events = decoder.feed(cut_off + telegram(b"/XMX5LGF0000001"))

    assert len(readings(events)) == 1
    assert decoder.rejections == {"partial_telegram": 1}


def test_parse_telegram_takes_odd_identification_bytes_as_bytes():
    reading = parse_telegram(telegram(b"/KFM5\x7f\xffKAIFA-METER"))

    assert reading.header == "KFM5\\x7f\\xffKAIFA-METER"


@pytest.mark.parametrize("trailer_extra", [b"\x00", b""])
def test_a_nul_between_the_crc_and_the_line_end_is_accepted(trailer_extra):
    decoder = MeterDecoder()

    events = decoder.feed(telegram(b"/Ene5\\T211 ESMR 5.0", trailer_extra=trailer_extra)) + decoder.finish()

    assert [reading.crc_ok for reading in readings(events)] == [True]
    assert decoder.rejections == {}
