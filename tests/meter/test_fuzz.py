"""Hypothesis fuzzing: nothing a meter line can carry makes an exception escape the decoder."""

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from node.meter import errors
from node.meter.decoder import MeterDecoder
from node.meter.dlms.ciphering import MeterKeys
from node.meter.reading import Reading, Rejection
from node.meter.simulator.dlms_frames import glo_cipher, hdlc_frames, mbus_frames

REASONS = {cls.reason for cls in vars(errors).values() if isinstance(cls, type) and issubclass(cls, errors.MeterError)}
FUZZ = settings(max_examples=150, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
KEY, AUTH_KEY = bytes(range(16)), bytes(range(16, 32))  # test-only keys
# Read once: hypothesis runs each test body many times, and fixtures are per test.
DSMR5 = (Path(__file__).parent / "telegrams" / "dsmr5.txt").read_bytes()


def run(decoder, data: bytes, cuts: list[int]):
    """Feed `data` split at `cuts`, then end the input; every event in order."""
    events, last = [], 0
    for cut in sorted({c % (len(data) + 1) for c in cuts}) + [len(data)]:
        events += decoder.feed(data[last:cut])
        last = cut
    return events + decoder.finish()


def assert_accounted(decoder, events):
    rejections = [event for event in events if isinstance(event, Rejection)]
    assert sum(decoder.rejections.values()) == len(rejections)
    assert {rejection.reason for rejection in rejections} <= REASONS
    assert all(rejection.detail for rejection in rejections)
    assert decoder.readings == len([event for event in events if isinstance(event, Reading)])


@FUZZ
@given(data=st.binary(max_size=3000), cuts=st.lists(st.integers(min_value=0), max_size=8))
def test_random_bytes_never_raise_and_every_rejection_is_counted(data, cuts):
    decoder = MeterDecoder()

    events = run(decoder, data, cuts)

    assert_accounted(decoder, events)


@FUZZ
@given(position=st.integers(min_value=0), bit=st.integers(min_value=0, max_value=7), cuts=st.lists(st.integers(min_value=0), max_size=4))
def test_single_bit_flip_in_a_telegram_never_yields_a_different_reading(position, bit, cuts):
    damaged = bytearray(DSMR5)
    damaged[position % len(damaged)] ^= 1 << bit
    decoder = MeterDecoder(formats=frozenset({"dsmr"}))
    original = MeterDecoder().feed(DSMR5)[0]

    events = run(decoder, bytes(damaged), cuts)

    assert_accounted(decoder, events)
    readings = [event for event in events if isinstance(event, Reading)]
    assert readings in ([], [original])


@FUZZ
@given(length=st.integers(min_value=0), cuts=st.lists(st.integers(min_value=0), max_size=4))
def test_truncated_telegram_before_a_whole_one_is_dropped_and_the_whole_one_read(length, cuts):
    prefix = DSMR5[: length % len(DSMR5)]
    decoder = MeterDecoder()

    events = run(decoder, prefix + DSMR5, cuts)

    assert_accounted(decoder, events)
    assert [event.meter_id for event in events if isinstance(event, Reading)] == ["K8EG004046395507"]
    assert sum(decoder.rejections.values()) == (1 if prefix else 0)


@FUZZ
@given(
    pattern=st.binary(min_size=1, max_size=40).filter(lambda b: b"!" not in b),
    repeat=st.integers(min_value=500, max_value=3000),
    cuts=st.lists(st.integers(min_value=0), max_size=4),
)
def test_huge_lines_are_dropped_and_reading_continues(pattern, repeat, cuts):
    line = pattern * repeat
    decoder = MeterDecoder(formats=frozenset({"dsmr"}))

    events = run(decoder, b"/" + line + DSMR5, cuts)

    assert_accounted(decoder, events)
    assert len([event for event in events if isinstance(event, Reading)]) == 1


def _encrypted_stream() -> bytes:
    plaintext = b"\x0f\x00\x00\x00\x01\x00\x02\x02\x09\x06\x01\x00\x01\x08\x00\xff\x06\x00\x00\x10\x00"
    title = b"GCS\x00\x00\x00\x00\x07"
    frames = [glo_cipher(plaintext, title, counter, KEY, AUTH_KEY) for counter in (1, 2, 3)]
    return mbus_frames(frames[0], 20) + hdlc_frames(frames[1], 16) + frames[2]


@FUZZ
@given(
    flips=st.lists(st.tuples(st.integers(min_value=0), st.integers(min_value=0, max_value=255)), max_size=6),
    cut_at=st.integers(min_value=0),
    cuts=st.lists(st.integers(min_value=0), max_size=6),
)
def test_mangled_encrypted_frames_never_raise(flips, cut_at, cuts):
    stream = bytearray(_encrypted_stream())
    for position, value in flips:
        stream[position % len(stream)] = value
    stream = stream[: cut_at % (len(stream) + 1)] + stream
    decoder = MeterDecoder(keys=MeterKeys(KEY, AUTH_KEY))

    events = run(decoder, bytes(stream), cuts)

    assert_accounted(decoder, events)
