from datetime import datetime, timezone
from decimal import Decimal

import pytest

from node.meter.dsmr import parse_telegram
from node.meter.reading import Reading, Value
from node.store.errors import UnusableReading
from node.store.samples import sample_from_reading

MOMENT = datetime(2024, 1, 15, 9, 30, 5, tzinfo=timezone.utc)


def test_tariff_registers_are_summed_and_kwh_become_whole_wh():
    reading = Reading("E1", MOMENT, {
        "1-0:1.8.1": Value(Decimal("123.456"), "kWh"), "1-0:1.8.2": Value(Decimal("0.544"), "kWh"),
        "1-0:2.8.1": Value(Decimal("10.000"), "kWh"), "1-0:2.8.2": Value(Decimal("0.001"), "kWh"),
        "1-0:1.7.0": Value(Decimal("01.193"), "kW"), "1-0:2.7.0": Value(Decimal("00.000"), "kW"),
    })

    sample = sample_from_reading(reading)

    assert (sample.ts, sample.meter_id) == (int(MOMENT.timestamp()), "E1")
    assert (sample.import_wh, sample.export_wh, sample.import_w, sample.export_w) == (124_000, 10_001, 1193, 0)


def test_dlms_totals_in_wh_are_used_when_there_are_no_tariff_registers():
    reading = Reading("KFM1", MOMENT, {"1-0:1.8.0": Value(Decimal("4567"), "Wh"), "1-0:2.8.0": Value(Decimal("12.5"), "Wh")})

    sample = sample_from_reading(reading)

    assert (sample.import_wh, sample.export_wh, sample.import_w) == (4567, 12, None)


def test_reading_without_a_valid_clock_takes_the_receive_time():
    reading = Reading("E1", None, {"1-0:1.8.1": Value(Decimal("1.000"), "kWh")})

    assert sample_from_reading(reading, received_at=MOMENT).ts == int(MOMENT.timestamp())
    with pytest.raises(UnusableReading, match="no valid timestamp"):
        sample_from_reading(reading)


def test_reading_without_energy_registers_is_unusable():
    reading = Reading("E1", MOMENT, {"0-1:24.2.1": Value(Decimal("1.234"), "m3", MOMENT)})

    with pytest.raises(UnusableReading, match="no import or export"):
        sample_from_reading(reading)


def test_parsed_dsmr5_telegram_becomes_a_sample(dsmr5_bytes):
    sample = sample_from_reading(parse_telegram(dsmr5_bytes))

    assert (sample.import_wh, sample.export_wh, sample.import_w) == (246_913_578, 246_913_578, 1193)
