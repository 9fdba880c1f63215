"""GPIO relays that follow community rules: battery, surplus, exchange, schedule, manual.

The node runtime opens a `RelayBank` with the settings from its config and a gpiozero pin
factory, feeds it a `Signals` snapshot every few seconds, and leaves its `with` block (or calls
`close()`) on stop; the DApp calls `override()` and reads `status()` and `RelayJournal.recent()`.
See docs/relays.md.
"""

from node.relay.battery import BatterySensor, BatteryStep, FileSensor, SimulatedBattery
from node.relay.errors import (
    BatterySensorError,
    RelayClosed,
    RelayConfigError,
    RelayError,
    RelayPinError,
    UnknownRelay,
)
from node.relay.log import EventSink, RelayJournal, SwitchEvent, SwitchLog
from node.relay.relay import Override, Relay, RelayBank, RelayStatus
from node.relay.rules import (
    BatteryRule,
    Decision,
    ExchangeRule,
    ManualRule,
    RuleSettings,
    ScheduleRule,
    ScheduleWindow,
    SurplusRule,
)
from node.relay.settings import RelaySettings, battery_sensor_from_dict, relay_settings_from_dict, relays_from_dict
from node.relay.signals import Exchange, ExpectedSurplus, Signals

__all__ = [
    "BatteryRule",
    "BatterySensor",
    "BatterySensorError",
    "BatteryStep",
    "Decision",
    "EventSink",
    "Exchange",
    "ExchangeRule",
    "ExpectedSurplus",
    "FileSensor",
    "ManualRule",
    "Override",
    "Relay",
    "RelayBank",
    "RelayClosed",
    "RelayConfigError",
    "RelayError",
    "RelayJournal",
    "RelayPinError",
    "RelaySettings",
    "RelayStatus",
    "RuleSettings",
    "ScheduleRule",
    "ScheduleWindow",
    "Signals",
    "SimulatedBattery",
    "SurplusRule",
    "SwitchEvent",
    "SwitchLog",
    "UnknownRelay",
    "battery_sensor_from_dict",
    "relay_settings_from_dict",
    "relays_from_dict",
]
