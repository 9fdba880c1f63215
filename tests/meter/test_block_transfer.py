"""General Block Transfer: an APDU pushed as numbered blocks over several HDLC frames (E450)."""

from datetime import datetime
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dlms_kit import (
    TITLE_HEX,
    e450_capture,
    e450_stream,
    gbt_block,
    gbt_blocks,
    glo_ciphering,
    notification,
)
from node.meter.decoder import MeterDecoder
from node.meter.dlms.block_transfer import BlockAssembler, parse_block
from node.meter.dlms.ciphering import MeterKeys
from node.meter.dsmr.timestamps import METER_TIMEZONE
from node.meter.errors import MalformedFrame
from node.meter.reading import Reading, Rejection
from node.meter.simulator.dlms_frames import gbt_hdlc_frames
from node.meter.simulator.household import PROFILES, Household
from node.meter.simulator.meter import Encryption, SimulatedMeter

KEY, AUTH_KEY = bytes(range(16)), bytes(range(16, 32))  # test-only keys
FUZZ = settings(max_examples=120, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def readings(events):
    return [event for event in events if isinstance(event, Reading)]


def ciphered_blocks(counter: int, count: int = 3) -> list[bytes]:
    apdu = glo_ciphering(notification(import_wh=1000 + counter, padding=150), counter, KEY, AUTH_KEY)
    return gbt_blocks(apdu, count)


def test_an_authenticated_apdu_in_three_blocks_over_three_hdlc_frames_is_one_reading():
    apdu = glo_ciphering(notification(import_wh=4_567_890, padding=150), 41, KEY, AUTH_KEY)
    blocks = gbt_blocks(apdu, 3)
    stream = e450_stream(blocks)
    decoder = MeterDecoder(MeterKeys(KEY, AUTH_KEY))

    events = decoder.feed(stream) + decoder.finish()

    assert stream.count(b"\xe6\xe7\x00") == 1  # only the first frame carries the LLC header
    [reading] = events
    assert (reading.values["1-0:1.8.0"].value, reading.values["1-0:1.8.0"].unit) == (Decimal(4_567_890), "Wh")
    assert (reading.system_title, reading.frame_counter) == (TITLE_HEX, 41)
    assert decoder.rejections == {}


def test_the_auth_tag_is_checked_over_the_reassembled_apdu():
    apdu = bytearray(glo_ciphering(notification(padding=150), 7, KEY, AUTH_KEY))
    apdu[len(apdu) // 2] ^= 0x01  # inside the second block's ciphertext
    decoder = MeterDecoder(MeterKeys(KEY, AUTH_KEY))

    events = decoder.feed(e450_stream(gbt_blocks(bytes(apdu), 3)))

    assert [event.reason for event in events] == ["bad_tag"]


def test_a_recorded_e450_push_reads_its_registers_in_wh_by_its_object_list():
    decoder = MeterDecoder()

    [reading] = decoder.feed(e450_capture()) + decoder.finish()

    values = reading.values
    assert reading.meter_id == "1299652"
    assert reading.timestamp == datetime(2026, 7, 18, 16, 58, tzinfo=METER_TIMEZONE)
    assert values["0-0:42.0.0"].value == "LGZ1020782546371"
    assert values["0-0:96.14.0"].value == "RATE2"
    assert (values["1-0:1.8.0"].value, values["1-0:1.8.0"].unit) == (Decimal(7_136_726), "Wh")
    # The tariff registers add up to the totals: the values are matched to the right codes.
    assert values["1-0:1.8.1"].value + values["1-0:1.8.2"].value == values["1-0:1.8.0"].value
    assert values["1-0:2.8.1"].value + values["1-0:2.8.2"].value == values["1-0:2.8.0"].value
    assert values["1-0:3.8.0"].unit == "varh"
    assert decoder.rejections == {}


def test_the_recorded_e450_push_split_at_every_byte_is_read_once():
    capture = e450_capture()
    for cut in range(1, len(capture), 7):
        decoder = MeterDecoder()

        events = decoder.feed(capture[:cut]) + decoder.feed(capture[cut:]) + decoder.finish()

        assert (len(readings(events)), decoder.rejections) == (1, {}), cut


@pytest.mark.parametrize(
    ("order", "rejections"),
    [
        ([1, 3], {"missing_block": 1}),  # block 2 lost
        ([2, 3], {"missing_block": 1}),  # block 1 lost: the rest has nothing to join
        ([1, 2, 2, 3], {"repeated_block": 1}),
        ([1, 3, 2], {"missing_block": 1}),  # reordered
        ([1, 2], {"missing_block": 1}),  # the last block lost: the next APDU's block 1 tells
        # Reversed: 3 and 2 have no block 1 before them; the late block 1 opens an APDU of its own,
        # cut off by the next one's block 1.
        ([3, 2, 1], {"missing_block": 2}),
    ],
)
def test_a_broken_block_sequence_drops_only_that_apdu_with_its_reason(order, rejections):
    broken = ciphered_blocks(1)
    good = ciphered_blocks(2)
    decoder = MeterDecoder(MeterKeys(KEY, AUTH_KEY))

    events = decoder.feed(e450_stream([broken[n - 1] for n in order]) + e450_stream(good))

    assert [reading.frame_counter for reading in readings(events)] == [2]
    assert decoder.rejections == rejections


def test_a_block_later_than_the_timeout_drops_its_apdu_and_the_next_one_is_read():
    clock = FakeClock()
    first, second = ciphered_blocks(1), ciphered_blocks(2)
    decoder = MeterDecoder(MeterKeys(KEY, AUTH_KEY), clock=clock, block_timeout=5.0)

    events = decoder.feed(e450_stream(first[:2]))
    clock.now += 5.5
    events += decoder.feed(e450_stream(first[2:]) + e450_stream(second))

    assert [reading.frame_counter for reading in readings(events)] == [2]
    assert decoder.rejections == {"block_timeout": 1}


def test_blocks_within_the_timeout_are_joined_however_slowly_they_come():
    clock = FakeClock()
    decoder = MeterDecoder(MeterKeys(KEY, AUTH_KEY), clock=clock, block_timeout=5.0)
    events = []

    for block in ciphered_blocks(3):
        events += decoder.feed(e450_stream([block]))
        clock.now += 4.9

    assert [reading.frame_counter for reading in readings(events)] == [3]


def test_an_apdu_growing_past_the_bound_is_dropped_as_oversized():
    assembler = BlockAssembler(FakeClock(), max_size=100)
    blocks = [parse_block(gbt_block(n, b"x" * 60, last=n == 3)) for n in (1, 2, 3)]

    results = [assembler.add(block) for block in blocks]

    assert [apdu for apdu, _ in results] == [None, None, None]
    assert [[error.reason for error in dropped] for _, dropped in results] == [[], ["oversized_frame"], []]
    assert not assembler.pending


def test_a_block_whose_length_disagrees_with_its_frame_is_malformed():
    with pytest.raises(MalformedFrame, match="block says 10 bytes"):
        parse_block(bytes.fromhex("e0c000010000") + b"\x0a" + b"x" * 9)


def test_block_control_bits_are_read():
    block = parse_block(bytes.fromhex("e04500020001") + b"\x02ab")

    assert (block.last, block.streaming, block.window, block.number, block.acknowledged, block.data) == (
        False, True, 5, 2, 1, b"ab")


def test_input_ending_inside_a_block_transfer_is_counted():
    decoder = MeterDecoder(MeterKeys(KEY, AUTH_KEY))

    events = decoder.feed(e450_stream(ciphered_blocks(1)[:2])) + decoder.finish()

    assert [event.reason for event in events] == ["missing_block"]


def test_the_simulated_e450_stream_is_read_by_the_decoder():
    encryption = Encryption(KEY, AUTH_KEY, container="gbt")
    meter = SimulatedMeter(Household(PROFILES["prosumer"], 4), datetime(2024, 6, 21, 12, tzinfo=METER_TIMEZONE),
                           interval=10, encryption=encryption)
    decoder = MeterDecoder(MeterKeys(KEY, AUTH_KEY))
    frames = [meter.step()[1] for _ in range(3)]

    events = [event for frame in frames for event in decoder.feed(frame)]

    assert all(frame.count(b"\x7e\xa0") >= 2 for frame in frames)  # more than one block each
    assert [reading.frame_counter for reading in readings(events)] == [1, 2, 3]


def test_simulator_blocks_have_the_e450_layout():
    stream = gbt_hdlc_frames(bytes(range(200)), block_size=112)

    assert stream.count(b"\xe6\xe7\x00") == 1
    assert b"\xe6\xe7\x00\xe0\x40\x00\x01\x00\x00\x70\x00\x01" in stream  # streaming, block 1, 112 bytes
    assert b"\xe0\x80\x00\x02\x00\x00\x58\x70\x71" in stream  # the last block, 2, 88 bytes


@FUZZ
@given(
    order=st.lists(st.integers(min_value=1, max_value=4), min_size=1, max_size=7),
    cuts=st.lists(st.integers(min_value=0), max_size=5),
)
def test_any_broken_block_order_costs_at_most_that_apdu_and_the_next_is_read(order, cuts):
    first, second = ciphered_blocks(1, 4), ciphered_blocks(2, 4)
    stream = e450_stream([first[n - 1] for n in order]) + e450_stream(second)
    decoder = MeterDecoder(MeterKeys(KEY, AUTH_KEY))
    events, last = [], 0
    for cut in sorted({c % (len(stream) + 1) for c in cuts}) + [len(stream)]:
        events += decoder.feed(stream[last:cut])
        last = cut
    events += decoder.finish()

    counters = [reading.frame_counter for reading in readings(events)]
    rejections = [event for event in events if isinstance(event, Rejection)]
    whole = any(order[i : i + 4] == [1, 2, 3, 4] for i in range(len(order)))
    assert counters == ([1, 2] if whole else [2])  # the APDU after the broken one is always read
    assert bool(rejections) == (order != [1, 2, 3, 4])
    assert {rejection.reason for rejection in rejections} <= {"missing_block", "repeated_block", "replayed_frame"}
    # A broken APDU ends at the next block 1: one count each, at most.
    assert len(rejections) <= order.count(1) + 1
    assert sum(decoder.rejections.values()) == len(rejections)
