"""M-Bus long frames: an APDU in any number of segments, numbered modulo 16, ended by the last-segment bit."""

from decimal import Decimal

from dlms_kit import glo_ciphering, mbus_frames, notification
from node.meter.decoder import MeterDecoder
from node.meter.dlms.ciphering import MeterKeys
from node.meter.dlms.containers import Reassembler, Segment

KEY, AUTH_KEY = bytes(range(16)), bytes(range(16, 32))  # test-only keys


def test_an_apdu_in_forty_segments_is_read_across_the_wrap_of_the_segment_counter():
    apdu = glo_ciphering(notification(import_wh=31_415, padding=200), 5, KEY, AUTH_KEY)
    frames = mbus_frames(apdu, 9)
    decoder = MeterDecoder(MeterKeys(KEY, AUTH_KEY))

    events = [event for frame in frames for event in decoder.feed(frame)]

    assert len(frames) >= 40
    assert [frame[6] & 0x0F for frame in frames[14:18]] == [14, 15, 0, 1]  # the counter wraps
    assert [event.values["1-0:1.8.0"].value for event in events] == [Decimal(31_415)]
    assert decoder.rejections == {}


def test_a_lost_segment_after_the_wrap_drops_that_apdu_and_the_next_one_is_read():
    first = mbus_frames(glo_ciphering(notification(padding=200), 1, KEY, AUTH_KEY), 9)
    second = mbus_frames(glo_ciphering(notification(padding=200), 2, KEY, AUTH_KEY), 9)
    decoder = MeterDecoder(MeterKeys(KEY, AUTH_KEY))

    events = decoder.feed(b"".join(first[:20] + first[21:] + second)) + decoder.finish()

    assert [event.frame_counter for event in events if hasattr(event, "values")] == [2]
    assert decoder.rejections["partial_telegram"] >= 1


def test_segments_keep_adding_until_the_last_segment_bit():
    reassembler = Reassembler()

    results = [reassembler.add(Segment(n & 0x0F, n == 19, bytes([n]))) for n in range(20)]

    assert [apdu for apdu, _ in results[:-1]] == [None] * 19
    assert results[-1] == (bytes(range(20)), None)


def test_segments_that_never_end_are_bounded():
    reassembler = Reassembler(max_size=100)

    results = [reassembler.add(Segment(n & 0x0F, False, b"x" * 30)) for n in range(4)]

    assert [error.reason if error else None for _, error in results] == [None, None, None, "oversized_frame"]
    assert not reassembler.pending
