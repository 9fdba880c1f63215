"""Relay settings from the node's TOML config: valid tables, and errors naming the exact key."""

from __future__ import annotations

import copy
import tomllib
from datetime import time
from pathlib import Path
from types import MappingProxyType
from zoneinfo import ZoneInfo

import pytest

from node.relay import (
    BatteryRule,
    ExchangeRule,
    FileSensor,
    ManualRule,
    RelayConfigError,
    RelaySettings,
    ScheduleRule,
    ScheduleWindow,
    SimulatedBattery,
    SurplusRule,
    battery_sensor_from_dict,
    relay_settings_from_dict,
    relays_from_dict,
)

DOCS = Path(__file__).parents[2] / "docs" / "relays.md"


def documented_config() -> dict:
    """The TOML example in docs/relays.md, parsed."""
    text = DOCS.read_text()
    return tomllib.loads(text.split("```toml\n", 1)[1].split("```", 1)[0])


def test_the_documented_config_reads_into_settings():
    relays = relays_from_dict(documented_config()["relays"])

    assert relays == (
        RelaySettings("battery", 17, BatteryRule(20, 80), active_high=False, fail_safe=False, min_on_s=300, min_off_s=120),
        RelaySettings("boiler", 27, SurplusRule(on_above_w=2500, off_below_w=200, load_w=2000)),
        RelaySettings("peer-in", 22, ExchangeRule("consumer")),
        RelaySettings(
            "washer",
            23,
            ScheduleRule(
                windows=(
                    ScheduleWindow(frozenset(range(5)), time(22, 0), time(6, 0)),
                    ScheduleWindow(frozenset({5, 6}), time(13, 0), time(16, 30)),
                ),
                timezone=ZoneInfo("Europe/Amsterdam"),
            ),
        ),
        RelaySettings("pump", 24, ManualRule(on=True), fail_safe=True),
    )


def test_the_documented_battery_source_is_a_file_sensor():
    sensor = battery_sensor_from_dict(documented_config()["battery"])

    assert (type(sensor), str(sensor.path), sensor.max_age_s) == (FileSensor, "/run/battery/soc", 120.0)


def test_reading_settings_leaves_the_config_untouched():
    config = documented_config()["relays"]
    before = copy.deepcopy(config)

    relays_from_dict(config)

    assert config == before


def test_read_only_tables_can_be_read():
    table = MappingProxyType({"pin": 17, "rule": "battery"})

    assert relay_settings_from_dict("battery", table) == RelaySettings("battery", 17, BatteryRule())


def test_days_may_wrap_over_the_weekend_and_be_spelled_out():
    table = {"pin": 23, "rule": "schedule", "windows": [{"days": ["Friday", "sat-mon"], "start": "8:00", "end": "9:00"}]}

    window = relay_settings_from_dict("washer", table).rule.windows[0]

    assert (window.days, window.start) == (frozenset({4, 5, 6, 0}), time(8, 0))


def test_toml_local_times_are_accepted():
    table = tomllib.loads('pin = 23\nrule = "schedule"\nwindows = [{ start = 07:30:00, end = 09:00:00 }]')

    window = relay_settings_from_dict("washer", table).rule.windows[0]

    assert (window.days, window.start, window.end) == (frozenset(range(7)), time(7, 30), time(9, 0))


BATTERY = {"pin": 17, "rule": "battery", "low_pct": 20, "high_pct": 80}
SCHEDULE = {"pin": 23, "rule": "schedule", "windows": [{"days": "mon-fri", "start": "22:00", "end": "06:00"}]}


@pytest.mark.parametrize(
    ("name", "table", "message"),
    [
        ("battery", {**BATTERY, "low_pct": 85}, "relays.battery.low_pct: must be below high_pct (80)"),
        ("battery", {**BATTERY, "high_pct": 120}, "relays.battery.high_pct: must be a percentage from 0 to 100"),
        ("battery", {**BATTERY, "low_pct": True}, "relays.battery.low_pct: must be a number, not True"),
        ("battery", {**BATTERY, "low_pct": "20%"}, "relays.battery.low_pct: must be a number, not '20%'"),
        ("battery", {**BATTERY, "low_pct": float("nan")}, "relays.battery.low_pct: must be a finite number"),
        ("battery", {"rule": "battery"}, "relays.battery.pin: missing"),
        ("battery", {**BATTERY, "pin": 40}, "relays.battery.pin: must be a BCM GPIO number from 0 to 27, not 40"),
        ("battery", {**BATTERY, "pin": "GPIO17"}, "relays.battery.pin: must be a whole number, not 'GPIO17'"),
        ("battery", {**BATTERY, "active_high": "no"}, "relays.battery.active_high: must be true or false, not 'no'"),
        ("battery", {**BATTERY, "fail_safe": "open"}, "relays.battery.fail_safe: must be \"on\" or \"off\", not 'open'"),
        ("battery", {**BATTERY, "min_on_s": -1}, "relays.battery.min_on_s: must be a number of seconds, 0 or more"),
        ("battery", {**BATTERY, "signal_timeout_s": 0}, "relays.battery.signal_timeout_s: must be a number of seconds above 0"),
        ("battery", {"pin": 17}, "relays.battery.rule: missing"),
        (
            "battery",
            {**BATTERY, "rule": "solar"},
            "relays.battery.rule: must be one of battery, surplus, exchange, schedule, manual, not 'solar'",
        ),
        ("battery", {**BATTERY, "low_pc": 20}, "relays.battery.low_pc: unknown setting; did you mean low_pct?"),
        (
            "battery",
            {**BATTERY, "on_above_w": 500},
            "relays.battery.on_above_w: not a setting of the battery rule (it belongs to the surplus rule)",
        ),
        (
            "boiler",
            {"pin": 27, "rule": "surplus", "on_above_w": 100, "off_below_w": 100},
            "relays.boiler.off_below_w: must be below on_above_w (100)",
        ),
        ("boiler", {"pin": 27, "rule": "surplus", "load_w": -5}, "relays.boiler.load_w: must not be negative"),
        ("peer", {"pin": 22, "rule": "exchange"}, "relays.peer.role: missing"),
        (
            "peer",
            {"pin": 22, "rule": "exchange", "role": "buyer"},
            "relays.peer.role: must be one of consumer, producer, not 'buyer'",
        ),
        ("washer", {"pin": 23, "rule": "schedule"}, "relays.washer.windows: missing; a list like "
         '[{ days = "mon-fri", start = "07:00", end = "09:00" }]'),
        ("washer", {**SCHEDULE, "windows": []}, "relays.washer.windows: needs at least one window"),
        ("washer", {**SCHEDULE, "timezone": "Mars/Olympus"}, "relays.washer.timezone: unknown time zone 'Mars/Olympus'"),
        (
            "washer",
            {**SCHEDULE, "windows": [*SCHEDULE["windows"], {"days": "sat", "start": "7h", "end": "09:00"}]},
            "relays.washer.windows[1].start: must be a local time \"HH:MM\", not '7h'",
        ),
        (
            "washer",
            {**SCHEDULE, "windows": [{"days": "mon-fry", "start": "07:00", "end": "09:00"}]},
            "relays.washer.windows[0].days: 'fry' is not a weekday (mon, tue, wed, thu, fri, sat, sun, or daily)",
        ),
        (
            "washer",
            {**SCHEDULE, "windows": [{"days": "mon", "start": "07:00", "end": "07:00"}]},
            "relays.washer.windows[0].end: must differ from start (07:00)",
        ),
        (
            "washer",
            {**SCHEDULE, "windows": [{"day": "mon", "start": "07:00", "end": "08:00"}]},
            "relays.washer.windows[0].day: unknown setting; did you mean days?",
        ),
        ("washer", {**SCHEDULE, "windows": ["mon 7-9"]}, "relays.washer.windows[0]: must be a table with days, start and end"),
        ("bad name", BATTERY, "relays.bad name: a relay's name is letters, digits, '-' and '_'"),
        ("battery", 17, "relays.battery: must be a table"),
    ],
)
def test_config_errors_name_the_exact_key(name, table, message):
    with pytest.raises(RelayConfigError) as raised:
        relay_settings_from_dict(name, table)

    assert str(raised.value) == message


def test_config_errors_carry_the_key_and_the_problem_apart():
    with pytest.raises(RelayConfigError) as raised:
        relay_settings_from_dict("battery", {**BATTERY, "low_pct": 85})

    assert (raised.value.key, raised.value.problem) == ("relays.battery.low_pct", "must be below high_pct (80)")


def test_two_relays_on_one_pin_are_refused():
    with pytest.raises(RelayConfigError) as raised:
        relays_from_dict({"battery": BATTERY, "boiler": {"pin": 17, "rule": "manual"}})

    assert str(raised.value) == "relays.boiler.pin: GPIO 17 is already used by relays.battery"


def test_the_battery_table_chooses_a_file_sensor(tmp_path):
    sensor = battery_sensor_from_dict({"source": "file", "path": str(tmp_path / "soc"), "max_age_s": 120})

    assert (type(sensor), sensor.path, sensor.max_age_s) == (FileSensor, tmp_path / "soc", 120.0)


def test_the_battery_table_chooses_the_simulator():
    sensor = battery_sensor_from_dict({"source": "simulator", "capacity_wh": 6000, "soc_pct": 35})

    assert (type(sensor), sensor.capacity_wh, sensor.soc_pct(), sensor.max_charge_w) == (SimulatedBattery, 6000.0, 35.0, 5000.0)


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"source": "bms"}, "battery.source: must be file or simulator, not 'bms'"),
        ({"source": "file"}, "battery.path: missing"),
        ({"source": "file", "path": "/run/battery/soc", "max_age_s": 0}, "battery.max_age_s: must be above 0"),
        ({"source": "simulator", "capacity_wh": 0}, "battery.capacity_wh: must be above 0"),
        ({"source": "simulator", "capacity": 6000}, "battery.capacity: unknown setting; did you mean capacity_wh?"),
    ],
)
def test_battery_config_errors_name_the_exact_key(table, message):
    with pytest.raises(RelayConfigError) as raised:
        battery_sensor_from_dict(table)

    assert str(raised.value) == message
