from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

from node.meter.dsmr import SPECS, parse_telegram
from node.meter.errors import CrcMismatch, MalformedTelegram, MissingCrc

CET = timezone(timedelta(hours=1))
CEST = timezone(timedelta(hours=2))


def test_dsmr5_telegram_gives_meter_id_time_and_exact_register_values(dsmr5):
    reading = parse_telegram(dsmr5)

    assert reading.meter_id == "K8EG004046395507"
    assert reading.timestamp == datetime(2010, 12, 9, 11, 30, 20, tzinfo=CET)
    assert reading.crc_ok is True
    assert reading.values["1-0:1.8.1"].value == Decimal("123456.789")
    assert reading.values["1-0:1.8.1"].unit == "kWh"
    assert reading.values["1-0:1.7.0"].value == Decimal("1.193")
    assert reading.values["1-0:32.7.0"].unit == "V"
    assert reading.values["0-0:96.14.0"].value == "0002"


def test_dsmr5_gas_on_mbus_channel_1_carries_its_own_timestamp(dsmr5):
    gas = parse_telegram(dsmr5).values["0-1:24.2.1"]

    assert (gas.value, gas.unit) == (Decimal("12785.123"), "m3")
    assert gas.timestamp == datetime(2010, 12, 9, 11, 25, tzinfo=CET)


def test_power_failure_log_keeps_each_event_with_its_time_and_duration(dsmr5):
    log = parse_telegram(dsmr5).values["1-0:99.97.0"]

    assert log.value == Decimal("2")
    assert [(entry.timestamp, entry.value, entry.unit) for entry in log.history] == [
        (datetime(2010, 12, 8, 15, 24, 15, tzinfo=CET), Decimal("240"), "s"),
        (datetime(2010, 12, 8, 15, 10, 4, tzinfo=CET), Decimal("301"), "s"),
    ]


def test_json_keeps_the_meters_digits_and_gives_mbus_timestamps(dsmr5):
    values = parse_telegram(dsmr5).to_json()["values"]

    assert values["1-0:1.8.1"] == {"value": "123456.789", "unit": "kWh"}
    assert values["1-0:2.7.0"] == {"value": "0.000", "unit": "kW"}
    assert values["0-1:24.2.1"] == {"value": "12785.123", "unit": "m3", "timestamp": "2010-12-09T11:25:00+01:00"}


def test_dsmr22_telegram_without_crc_reads_gas_from_the_line_after_its_header(telegram_file):
    reading = parse_telegram(telegram_file("dsmr22"), SPECS["dsmr22"])

    assert reading.crc_ok is None
    assert reading.meter_id == "KAL7005109714513"
    assert reading.timestamp is None
    gas = reading.values["0-1:24.3.0"]
    assert (gas.value, gas.unit) == (Decimal("1.001"), "m3")
    # DSMR 2.2 clocks carry no S/W flag: they are read as Dutch local time.
    assert gas.timestamp.isoformat() == "2012-10-30T14:00:00+01:00"


def test_belgian_telegram_reads_gas_on_24_2_3_and_peak_demand(telegram_file):
    reading = parse_telegram(telegram_file("belgium_fluvius"), SPECS["belgium"])

    assert reading.meter_id == "1SAA1234567890245"
    gas = reading.values["0-1:24.2.3"]
    assert (gas.value, gas.unit, gas.timestamp) == (Decimal("112.384"), "m3", datetime(2020, 5, 12, 13, 45, 58, tzinfo=CEST))
    peak = reading.values["1-0:1.6.0"]
    assert (peak.value, peak.unit, peak.timestamp) == (Decimal("2.589"), "kW", datetime(2020, 5, 9, 13, 45, 58, tzinfo=CEST))
    assert reading.values["1-0:1.4.0"].value == Decimal("2.351")


def test_belgian_monthly_peak_history_gives_each_months_peak_with_its_time(telegram_file):
    history = parse_telegram(telegram_file("belgium_fluvius")).values["0-0:98.1.0"].history

    assert [(entry.value, entry.timestamp) for entry in history] == [
        (Decimal("3.695"), datetime(2020, 4, 23, 19, 25, 38, tzinfo=CEST)),
        (Decimal("5.980"), datetime(2020, 3, 5, 12, 21, 39, tzinfo=CEST)),
        (Decimal("4.318"), datetime(2020, 2, 10, 3, 54, 21, tzinfo=CET)),
    ]


def test_belgian_telegram_reads_a_second_mbus_channel_with_its_own_timestamp(telegram_file):
    reading = parse_telegram(telegram_file("belgium_fluvius"))

    assert reading.values["0-2:96.1.1"].value == "8SAA1234567890255"
    water = reading.values["0-2:24.2.1"]
    assert (water.value, water.timestamp) == (Decimal("872.234"), datetime(2020, 5, 12, 13, 48, tzinfo=CEST))


def test_luxembourg_smarty_telegram_reads_totals_and_its_logical_device_name(telegram_file):
    reading = parse_telegram(telegram_file("luxembourg_smarty"), SPECS["luxembourg"])

    assert reading.meter_id == "SAG3082200002160"
    assert reading.values["1-0:1.8.0"].value == Decimal("341.230")
    assert reading.values["1-0:4.8.0"].unit == "kvarh"
    assert reading.values["0-0:17.0.0"].unit == "kVA"


@pytest.mark.parametrize("channel", [1, 2, 3, 4])
def test_every_mbus_channel_keeps_its_own_timestamp(channel, make_telegram):
    telegram = make_telegram(
        [
            "/XMX5LGBBFFB231215493",
            "",
            "0-0:1.0.0(240101120000W)",
            f"0-{channel}:24.1.0(003)",
            f"0-{channel}:24.2.1(240101115500W)(00042.001*m3)",
        ]
    )

    value = parse_telegram(telegram).values[f"0-{channel}:24.2.1"]

    assert (value.value, value.timestamp) == (Decimal("42.001"), datetime(2024, 1, 1, 11, 55, tzinfo=CET))


def _telegram_with_short_crc(make_telegram) -> tuple[bytes, int]:
    for amount in range(10000):
        lines = ["/ISK5\\2M550T-1012", "", f"1-0:1.8.1({amount:06d}.000*kWh)"]
        telegram = make_telegram(lines)
        if telegram[-6:-2].startswith(b"0"):
            return make_telegram(lines, digits=0), amount
    raise AssertionError("no CRC below 0x1000 in 10000 tries")


def test_crc_without_leading_zeros_is_accepted(make_telegram):
    telegram, amount = _telegram_with_short_crc(make_telegram)
    trailer = telegram[telegram.rindex(b"!") + 1 :].strip()

    reading = parse_telegram(telegram, SPECS["dsmr5"])

    assert len(trailer) < 4
    assert reading.crc_ok is True
    assert reading.values["1-0:1.8.1"].value == Decimal(f"{amount}.000")


def test_crc_mismatch_rejects_the_telegram(dsmr5):
    tampered = dsmr5.replace(b"1-0:1.8.1(123456.789", b"1-0:1.8.1(123456.788")

    with pytest.raises(CrcMismatch, match="E47C"):
        parse_telegram(tampered)


def test_dsmr5_spec_rejects_a_telegram_without_crc(make_telegram):
    telegram = make_telegram(["/ISK5\\2M550T-1012", "", "1-0:1.8.1(000001.000*kWh)"], digits=None)

    with pytest.raises(MissingCrc):
        parse_telegram(telegram, SPECS["dsmr5"])


@pytest.mark.parametrize("clock", ["241301120000W", "240230120000S", "000000000000W", "2401011200", "24010112000XW", ""])
def test_invalid_timestamp_becomes_none_and_the_rest_still_parses(clock, make_telegram):
    telegram = make_telegram(["/ISK5\\2M550T-1012", "", f"0-0:1.0.0({clock})", "1-0:1.8.1(000001.000*kWh)"])

    reading = parse_telegram(telegram)

    assert reading.timestamp is None
    assert reading.values["1-0:1.8.1"].value == Decimal("1.000")


def test_unknown_objects_are_read_by_their_syntax(make_telegram):
    telegram = make_telegram(
        ["/ABC5\\2X", "", "1-0:15.7.0(00.500*kW)", "0-0:96.99.9(hello)", "1-0:1.6.9(240101115500W)(01.000*kW)"]
    )

    values = parse_telegram(telegram).values

    assert (values["1-0:15.7.0"].value, values["1-0:15.7.0"].unit) == (Decimal("0.500"), "kW")
    assert values["0-0:96.99.9"].value == "hello"
    assert values["1-0:1.6.9"].timestamp == datetime(2024, 1, 1, 11, 55, tzinfo=CET)


def test_telegram_without_trailer_is_malformed():
    with pytest.raises(MalformedTelegram):
        parse_telegram(b"/ISK5\\2M550T-1012\r\n\r\n1-0:1.8.1(000001.000*kWh)\r\n")
