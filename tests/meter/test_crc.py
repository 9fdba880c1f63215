from node.meter.crc import crc16_arc, crc16_x25


def test_crc16_arc_gives_the_catalogue_check_value():
    assert crc16_arc(b"123456789") == 0xBB3D


def test_crc16_arc_handles_odd_lengths_and_empty_input():
    assert crc16_arc(b"") == 0
    assert crc16_arc(b"12345678") == crc16_arc(b"1234567" + b"8")
    assert crc16_arc(b"1") == 0xD4C1


def test_crc16_x25_gives_the_catalogue_check_value():
    assert crc16_x25(b"123456789") == 0x906E
