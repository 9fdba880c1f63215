"""Relay settings, and reading them from the node's TOML config with errors that name the key.

The config is data: readers take the parsed TOML tables (plain dicts) and never change them.

    [relays.battery]
    pin = 17
    rule = "battery"
    low_pct = 20
    high_pct = 80
"""

from __future__ import annotations

import difflib
import math
import re
import time as _time
from dataclasses import dataclass
from datetime import time
from typing import Any, Callable, Mapping
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from node.relay.battery import BatterySensor, FileSensor, SimulatedBattery
from node.relay.errors import RelayConfigError
from node.relay.rules import (
    RULE_KINDS,
    SURPLUS_PLANS,
    WEEKDAYS,
    BatteryRule,
    ExchangeRule,
    ManualRule,
    RuleSettings,
    ScheduleRule,
    ScheduleWindow,
    SurplusRule,
)

# BCM numbers of the GPIOs on the 40-pin header (every Pi since the B+, the Pi 5 included).
GPIO_PINS = range(0, 28)
_NAME = re.compile(r"[A-Za-z0-9_-]+")


@dataclass(frozen=True)
class RelaySettings:
    """One relay: where it is wired, how it behaves without the software, and the rule it follows.

    `active_high` False is for the common low-level-trigger relay boards (the coil is
    energised when the GPIO is low). `fail_safe` is the state (True = on) the relay takes at
    start, stop, crash and when a rule's signal stays missing longer than `signal_timeout_s`.
    """

    name: str
    pin: int
    rule: RuleSettings
    active_high: bool = True
    fail_safe: bool = False
    min_on_s: float = 60.0
    min_off_s: float = 60.0
    signal_timeout_s: float = 300.0

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not _NAME.fullmatch(self.name):
            raise RelayConfigError(f"relays.{self.name}", "a relay's name is letters, digits, '-' and '_'")
        if isinstance(self.pin, bool) or not isinstance(self.pin, int) or self.pin not in GPIO_PINS:
            raise RelayConfigError(self.key("pin"), f"must be a BCM GPIO number from 0 to 27, not {self.pin!r}")
        for key in ("min_on_s", "min_off_s"):
            value = getattr(self, key)
            if not (math.isfinite(value) and value >= 0):
                raise RelayConfigError(self.key(key), "must be a number of seconds, 0 or more")
        if not (math.isfinite(self.signal_timeout_s) and self.signal_timeout_s > 0):
            raise RelayConfigError(self.key("signal_timeout_s"), "must be a number of seconds above 0")

    def key(self, setting: str) -> str:
        """The setting's full key in the node's config."""
        return f"relays.{self.name}.{setting}"


_COMMON_KEYS = ("pin", "rule", "active_high", "fail_safe", "min_on_s", "min_off_s", "signal_timeout_s")
_RULE_KEYS: dict[str, tuple[str, ...]] = {
    "battery": ("low_pct", "high_pct"),
    "surplus": ("on_above_w", "off_below_w", "load_w", "plan", "run_hours"),
    "exchange": ("role",),
    "schedule": ("windows", "timezone"),
    "manual": (),
}
_WINDOW_KEYS = ("days", "start", "end")


def relays_from_dict(table: Mapping[str, Any]) -> tuple[RelaySettings, ...]:
    """All relays of the config's `[relays]` table, in order; two relays may not share a pin."""
    if not isinstance(table, Mapping):
        raise RelayConfigError("relays", "must be a table with one table per relay")
    relays = tuple(relay_settings_from_dict(name, data) for name, data in table.items())
    owners: dict[int, str] = {}
    for relay in relays:
        if relay.pin in owners:
            raise RelayConfigError(relay.key("pin"), f"GPIO {relay.pin} is already used by relays.{owners[relay.pin]}")
        owners[relay.pin] = relay.name
    return relays


def relay_settings_from_dict(name: str, data: Mapping[str, Any]) -> RelaySettings:
    """One relay's settings from its `[relays.<name>]` table."""
    prefix = f"relays.{name}"
    if not isinstance(data, Mapping):
        raise RelayConfigError(prefix, "must be a table")
    try:
        kind = _text(data, "rule")
        if kind not in RULE_KINDS:
            raise RelayConfigError("rule", f"must be one of {', '.join(RULE_KINDS)}, not {kind!r}")
        _reject_unknown_keys(data, kind)
        rule = _RULE_READERS[kind](data)
        common = dict(
            pin=_integer(data, "pin"),
            active_high=_boolean(data, "active_high", True),
            fail_safe=_on_off(data, "fail_safe", False),
            min_on_s=_number(data, "min_on_s", 60.0),
            min_off_s=_number(data, "min_off_s", 60.0),
            signal_timeout_s=_number(data, "signal_timeout_s", 300.0),
        )
    except RelayConfigError as error:
        raise error.within(prefix) from None
    return RelaySettings(name=name, rule=rule, **common)


def battery_sensor_from_dict(data: Mapping[str, Any], clock: Callable[[], float] = _time.time) -> BatterySensor:
    """The household battery's state-of-charge source from the config's `[battery]` table.

    `source = "file"` reads a number a BMS writes (`path`, optional `max_age_s`);
    `source = "simulator"` runs `SimulatedBattery` (`capacity_wh`, `soc_pct`, `max_charge_w`,
    `max_discharge_w`, `community_charge_w`).
    """
    if not isinstance(data, Mapping):
        raise RelayConfigError("battery", "must be a table")
    try:
        source = _text(data, "source")
        if source == "file":
            _reject_keys_outside(data, ("source", "path", "max_age_s"))
            max_age = data.get("max_age_s")
            return FileSensor(
                _text(data, "path"),
                max_age_s=None if max_age is None else _positive(data, "max_age_s"),
                clock=clock,
            )
        if source == "simulator":
            keys = ("capacity_wh", "soc_pct", "max_charge_w", "max_discharge_w", "community_charge_w")
            _reject_keys_outside(data, ("source", *keys))
            defaults = SimulatedBattery.DEFAULTS
            return SimulatedBattery(**{key: _number(data, key, defaults[key]) for key in keys})
        raise RelayConfigError("source", f"must be file or simulator, not {source!r}")
    except RelayConfigError as error:
        raise error.within("battery") from None


# -- rules -------------------------------------------------------------------------------


def _battery_rule(data: Mapping[str, Any]) -> BatteryRule:
    return BatteryRule(low_pct=_number(data, "low_pct", 20.0), high_pct=_number(data, "high_pct", 80.0))


# Settings of one surplus plan that the other ignores: refused rather than silently unused.
_PLAN_ONLY = {"live": ("on_above_w", "off_below_w", "load_w"), "forecast": ("run_hours",)}


def _surplus_rule(data: Mapping[str, Any]) -> SurplusRule:
    plan = _text(data, "plan", "live")
    if plan not in SURPLUS_PLANS:
        raise RelayConfigError("plan", f"must be one of {', '.join(SURPLUS_PLANS)}, not {plan!r}")
    for other, keys in _PLAN_ONLY.items():
        for key in keys:
            if other != plan and key in data:
                raise RelayConfigError(key, f'not used with plan = "{plan}" (only with plan = "{other}")')
    if plan == "forecast":
        return SurplusRule(plan=plan, run_hours=_integer(data, "run_hours", 3))
    return SurplusRule(
        on_above_w=_number(data, "on_above_w", 500.0),
        off_below_w=_number(data, "off_below_w", 100.0),
        load_w=_number(data, "load_w", 0.0),
        plan=plan,
    )


def _exchange_rule(data: Mapping[str, Any]) -> ExchangeRule:
    return ExchangeRule(role=_text(data, "role"))


def _schedule_rule(data: Mapping[str, Any]) -> ScheduleRule:
    zone_name = _text(data, "timezone", "Europe/Amsterdam")
    try:
        zone = ZoneInfo(zone_name)
    except (ZoneInfoNotFoundError, ValueError):
        raise RelayConfigError("timezone", f"unknown time zone {zone_name!r}") from None
    windows = data.get("windows")
    if windows is None:
        raise RelayConfigError("windows", 'missing; a list like [{ days = "mon-fri", start = "07:00", end = "09:00" }]')
    if isinstance(windows, (str, bytes)) or not isinstance(windows, (list, tuple)):
        raise RelayConfigError("windows", "must be a list of tables with days, start and end")
    return ScheduleRule(windows=tuple(_window(index, window) for index, window in enumerate(windows)), timezone=zone)


def _window(index: int, data: Any) -> ScheduleWindow:
    try:
        if not isinstance(data, Mapping):
            raise RelayConfigError("", "must be a table with days, start and end")
        _reject_keys_outside(data, _WINDOW_KEYS)
        return ScheduleWindow(days=_weekdays(data), start=_clock_time(data, "start"), end=_clock_time(data, "end"))
    except RelayConfigError as error:
        key = f"windows[{index}]" + (f".{error.key}" if error.key else "")
        raise RelayConfigError(key, error.problem) from None


def _manual_rule(data: Mapping[str, Any]) -> ManualRule:
    # A relay without a rule rests where it would be without the software.
    return ManualRule(on=_on_off(data, "fail_safe", False))


_RULE_READERS: dict[str, Callable[[Mapping[str, Any]], RuleSettings]] = {
    "battery": _battery_rule,
    "surplus": _surplus_rule,
    "exchange": _exchange_rule,
    "schedule": _schedule_rule,
    "manual": _manual_rule,
}


# -- values ------------------------------------------------------------------------------


def _reject_unknown_keys(data: Mapping[str, Any], kind: str) -> None:
    allowed = _COMMON_KEYS + _RULE_KEYS[kind]
    for key in data:
        if key in allowed:
            continue
        owners = [other for other, keys in _RULE_KEYS.items() if key in keys]
        if owners:
            raise RelayConfigError(key, f"not a setting of the {kind} rule (it belongs to the {' and '.join(owners)} rule)")
        _reject_keys_outside({key: None}, allowed)


def _reject_keys_outside(data: Mapping[str, Any], allowed: tuple[str, ...]) -> None:
    for key in data:
        if key not in allowed:
            close = difflib.get_close_matches(str(key), allowed, n=1)
            hint = f"; did you mean {close[0]}?" if close else f"; known: {', '.join(allowed)}"
            raise RelayConfigError(str(key), f"unknown setting{hint}")


def _missing(key: str) -> RelayConfigError:
    return RelayConfigError(key, "missing")


def _number(data: Mapping[str, Any], key: str, default: float | None = None) -> float:
    value = data.get(key, default)
    if value is None:
        raise _missing(key)
    # TOML booleans are Python bools, which are ints: `low_pct = true` must not read as 1.
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise RelayConfigError(key, f"must be a number, not {value!r}")
    if not math.isfinite(value):
        raise RelayConfigError(key, "must be a finite number")
    return float(value)


def _positive(data: Mapping[str, Any], key: str) -> float:
    value = _number(data, key)
    if value <= 0:
        raise RelayConfigError(key, "must be above 0")
    return value


def _integer(data: Mapping[str, Any], key: str, default: int | None = None) -> int:
    value = data.get(key, default)
    if value is None:
        raise _missing(key)
    if isinstance(value, bool) or not isinstance(value, int):
        raise RelayConfigError(key, f"must be a whole number, not {value!r}")
    return value


def _boolean(data: Mapping[str, Any], key: str, default: bool) -> bool:
    value = data.get(key, default)
    if not isinstance(value, bool):
        raise RelayConfigError(key, f"must be true or false, not {value!r}")
    return value


def _on_off(data: Mapping[str, Any], key: str, default: bool) -> bool:
    value = data.get(key, default)
    if isinstance(value, bool):
        return value
    if value in ("on", "off"):
        return value == "on"
    raise RelayConfigError(key, f'must be "on" or "off", not {value!r}')


def _text(data: Mapping[str, Any], key: str, default: str | None = None) -> str:
    value = data.get(key, default)
    if value is None:
        raise _missing(key)
    if not isinstance(value, str) or not value:
        raise RelayConfigError(key, f"must be a non-empty string, not {value!r}")
    return value


_TIME = re.compile(r"([01]?\d|2[0-3]):([0-5]\d)")


def _clock_time(data: Mapping[str, Any], key: str) -> time:
    value = data.get(key)
    if value is None:
        raise _missing(key)
    # A TOML local time (start = 07:00:00) arrives as datetime.time.
    if isinstance(value, time) and value.tzinfo is None:
        return value
    match = _TIME.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise RelayConfigError(key, f'must be a local time "HH:MM", not {value!r}')
    return time(int(match[1]), int(match[2]))


def _weekdays(data: Mapping[str, Any]) -> frozenset[int]:
    value = data.get("days", "daily")
    if isinstance(value, str):
        parts = [part.strip() for part in value.split(",")]
    elif isinstance(value, (list, tuple)) and all(isinstance(part, str) for part in value):
        parts = [part.strip() for part in value]
    else:
        raise RelayConfigError("days", f'must be a string like "mon-fri" or "sat,sun", not {value!r}')
    days: set[int] = set()
    for part in parts:
        if part.lower() == "daily":
            days.update(range(7))
            continue
        first, _, last = part.partition("-")
        start, end = _weekday(first), _weekday(last or first)
        # A range may wrap over the weekend: "fri-mon".
        days.update((start + offset) % 7 for offset in range((end - start) % 7 + 1))
    return frozenset(days)


_DAY_NAMES = {
    **{short: index for index, short in enumerate(WEEKDAYS)},
    **{
        full: index
        for index, full in enumerate(("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"))
    },
}


def _weekday(name: str) -> int:
    index = _DAY_NAMES.get(name.strip().lower())
    if index is None:
        raise RelayConfigError("days", f"{name.strip()!r} is not a weekday ({', '.join(WEEKDAYS)}, or daily)")
    return index
