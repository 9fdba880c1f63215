"""The state-of-charge sources: the simulated battery and a file written by a BMS."""

from __future__ import annotations

import os

import pytest

from node.relay import BatterySensorError, BatteryStep, FileSensor, RelayConfigError, SimulatedBattery

HOUR = 3600.0


def test_the_house_discharges_the_battery_while_it_runs_on_it():
    battery = SimulatedBattery(capacity_wh=10_000, soc_pct=50)

    step = battery.step(pv_w=0, load_w=1000, seconds=HOUR, on_community_source=False)

    assert step == BatteryStep(soc_pct=40.0, battery_w=-1000.0, community_w=0.0, unmet_w=0.0)


def test_on_the_community_source_the_battery_only_takes_pv_and_community_charge():
    battery = SimulatedBattery(capacity_wh=10_000, soc_pct=50, community_charge_w=500)

    step = battery.step(pv_w=1000, load_w=3000, seconds=HOUR, on_community_source=True)

    assert step == BatteryStep(soc_pct=65.0, battery_w=1500.0, community_w=3500.0, unmet_w=0.0)


def test_an_empty_battery_leaves_the_load_unmet():
    battery = SimulatedBattery(capacity_wh=1000, soc_pct=10)

    step = battery.step(pv_w=0, load_w=400, seconds=HOUR, on_community_source=False)

    assert step == BatteryStep(soc_pct=0.0, battery_w=-100.0, community_w=0.0, unmet_w=300.0)


def test_charging_stops_at_the_power_limit_and_when_full():
    battery = SimulatedBattery(capacity_wh=10_000, soc_pct=90, max_charge_w=3000)

    first = battery.step(pv_w=6000, load_w=0, seconds=HOUR / 6, on_community_source=False)
    second = battery.step(pv_w=6000, load_w=0, seconds=HOUR, on_community_source=False)

    assert (first.soc_pct, first.battery_w) == (95.0, 3000.0)
    assert (second.soc_pct, second.battery_w) == (100.0, 500.0)


def test_discharge_stops_at_the_power_limit():
    battery = SimulatedBattery(capacity_wh=10_000, soc_pct=50, max_discharge_w=2000)

    step = battery.step(pv_w=0, load_w=5000, seconds=HOUR, on_community_source=False)

    assert (step.soc_pct, step.battery_w, step.unmet_w) == (30.0, -2000.0, 3000.0)


def test_a_simulated_battery_refuses_an_impossible_state_of_charge():
    with pytest.raises(RelayConfigError, match="soc_pct: must be a percentage from 0 to 100"):
        SimulatedBattery(soc_pct=120)


@pytest.mark.parametrize(("written", "expected"), [("57.5\n", 57.5), ("100", 100.0), (" 0 % ", 0.0)])
def test_a_file_sensor_reads_the_number_a_bms_writes(tmp_path, written, expected):
    (tmp_path / "soc").write_text(written)

    assert FileSensor(tmp_path / "soc").soc_pct() == expected


@pytest.mark.parametrize(
    ("written", "message"),
    [
        (None, "battery sensor {path}: no such file"),
        ("", "battery sensor {path}: '' is not a number"),
        ("charging", "battery sensor {path}: 'charging' is not a number"),
        ("101", "battery sensor {path}: 101 is not a state of charge (0 to 100%)"),
        ("nan", "battery sensor {path}: nan is not a state of charge (0 to 100%)"),
    ],
)
def test_a_file_sensor_says_what_is_wrong_with_the_file(tmp_path, written, message):
    path = tmp_path / "soc"
    if written is not None:
        path.write_text(written)

    with pytest.raises(BatterySensorError) as raised:
        FileSensor(path).soc_pct()

    assert str(raised.value) == message.format(path=path)


def test_a_file_the_bms_stopped_writing_is_not_trusted(tmp_path):
    path = tmp_path / "soc"
    path.write_text("57")
    os.utime(path, (1_000_000.0, 1_000_000.0))

    fresh = FileSensor(path, max_age_s=120, clock=lambda: 1_000_120.0).soc_pct()
    with pytest.raises(BatterySensorError) as raised:
        FileSensor(path, max_age_s=120, clock=lambda: 1_000_121.0).soc_pct()

    assert fresh == 57.0
    assert str(raised.value) == f"battery sensor {path}: last written 121 s ago, more than 120 s"
