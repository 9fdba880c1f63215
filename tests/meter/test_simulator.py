"""The simulated household meter: deterministic, physically sensible, and readable by the decoder."""

from datetime import datetime, timedelta

import pytest

from node.meter.decoder import MeterDecoder
from node.meter.dsmr.timestamps import METER_TIMEZONE
from node.meter.simulator.household import PROFILES, Household
from node.meter.simulator.meter import Encryption, SimulatedMeter
from node.meter.simulator.output import FileLine, PtyLine, pace

SUMMER_DAY = datetime(2024, 6, 21, tzinfo=METER_TIMEZONE)


def telegrams(profile: str, seed: int, count: int, start=SUMMER_DAY, interval=10.0, encryption=None):
    meter = SimulatedMeter(Household(PROFILES[profile], seed), start, interval=interval, encryption=encryption)
    return [meter.step()[1] for _ in range(count)]


def test_same_seed_gives_the_same_telegrams_byte_for_byte():
    assert telegrams("prosumer", 42, 50) == telegrams("prosumer", 42, 50)


def test_different_seeds_give_different_households():
    assert telegrams("prosumer", 1, 50) != telegrams("prosumer", 2, 50)


def test_power_at_a_moment_does_not_depend_on_the_step_size():
    household = Household(PROFILES["consumer"], 5)
    moment = SUMMER_DAY + timedelta(hours=19, minutes=3)

    assert household.load_w(moment) == Household(PROFILES["consumer"], 5).load_w(moment)


def test_every_telegram_has_a_valid_crc_and_registers_never_decrease():
    decoder = MeterDecoder()
    readings = [event for telegram in telegrams("prosumer", 3, 8640) for event in decoder.feed(telegram)]
    registers = ("1-0:1.8.1", "1-0:1.8.2", "1-0:2.8.1", "1-0:2.8.2", "0-1:24.2.1")

    assert len(readings) == 8640
    assert decoder.rejections == {}
    assert all(reading.crc_ok for reading in readings)
    for code in registers:
        series = [reading.values[code].value for reading in readings]
        assert series == sorted(series), code
    assert readings[-1].values["1-0:2.8.1"].value + readings[-1].values["1-0:2.8.2"].value > 0


def test_pv_follows_the_sun_nothing_at_night_most_at_midday():
    household = Household(PROFILES["producer"], 9)

    night = household.pv_w(SUMMER_DAY + timedelta(hours=2))
    morning = household.pv_w(SUMMER_DAY + timedelta(hours=7))
    noon = household.pv_w(SUMMER_DAY + timedelta(hours=13, minutes=30))

    assert night == 0
    assert noon > morning > 0
    assert noon <= PROFILES["producer"].pv_kwp * 1000


def test_consumer_has_no_export_and_no_pv():
    decoder = MeterDecoder()
    [last] = decoder.feed(telegrams("consumer", 4, 2000)[-1])

    assert last.values["1-0:2.8.1"].value + last.values["1-0:2.8.2"].value == 0
    assert last.values["1-0:1.8.1"].value + last.values["1-0:1.8.2"].value > 0


def test_evening_load_is_higher_than_night_load_on_average():
    household = Household(PROFILES["consumer"], 11)
    day = SUMMER_DAY + timedelta(days=3)

    evening = sum(household.load_w(day + timedelta(hours=19, seconds=s)) for s in range(0, 3600, 30))
    night = sum(household.load_w(day + timedelta(hours=3, seconds=s)) for s in range(0, 3600, 30))

    assert evening > 2 * night


@pytest.mark.parametrize("container", ["mbus", "hdlc", "bare"])
@pytest.mark.parametrize("payload", ["notification", "dsmr"])
def test_encrypted_frames_decode_to_the_same_energy_as_plain_telegrams(meter_keys, container, payload):
    encryption = Encryption(meter_keys.encryption_key, meter_keys.authentication_key, payload=payload, container=container)
    plain = [event for t in telegrams("prosumer", 8, 30) for event in MeterDecoder().feed(t)]
    decoder = MeterDecoder(meter_keys)

    encrypted = [event for t in telegrams("prosumer", 8, 30, encryption=encryption) for event in decoder.feed(t)]

    assert decoder.rejections == {}
    assert [r.frame_counter for r in encrypted] == list(range(1, 31))
    if payload == "notification":
        expected = [int((r.values["1-0:1.8.1"].value + r.values["1-0:1.8.2"].value) * 1000) for r in plain]
        assert [int(r.values["1-0:1.8.0"].value) for r in encrypted] == expected
    else:
        assert [r.values for r in encrypted] == [r.values for r in plain]


def test_pace_writes_on_schedule_at_the_given_speed(tmp_path):
    now = [100.0]
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(round(seconds, 6))
        now[0] += seconds

    path = tmp_path / "meter.txt"
    meter = SimulatedMeter(Household(PROFILES["consumer"], 1), SUMMER_DAY, interval=10)
    with path.open("ab") as stream:
        written = pace(meter, FileLine(stream).write, interval=10, speed=20, count=4, clock=lambda: now[0], sleep=sleep)

    decoder = MeterDecoder()
    assert written == 4
    assert waits == [0.5, 0.5, 0.5, 0.5]
    assert len(decoder.feed(path.read_bytes())) == 4


def test_pty_line_sends_like_a_meter_what_nobody_reads_is_gone():
    import serial

    sent = telegrams("consumer", 1, 201)
    line = PtyLine()
    try:
        for telegram in sent[:200]:
            line.write(telegram)  # nobody listening: must not block
        port = serial.Serial(line.path, timeout=5)
        try:
            line.write(sent[200])
            received = port.read(len(sent[200]))
        finally:
            port.close()
    finally:
        line.close()

    assert received == sent[200]


def test_pacing_one_frame_at_a_time_skips_none():
    frames = iter([(n, bytes([n])) for n in range(5)])
    written: list[bytes] = []
    for _ in range(3):
        pace(frames, written.append, interval=1.0, speed=0, count=1)
    assert written == [b"\x00", b"\x01", b"\x02"]
