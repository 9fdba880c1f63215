"""DSMR telegram specifications as data: which objects a variant sends and how to read each.

A spec maps OBIS codes to value kinds; `n` in the B group stands for M-Bus channels 1-4.
Objects a spec does not list are still read, their kind inferred from their syntax.

Kinds:
  quantity      a number with an optional `*unit`, e.g. `(001234.567*kWh)`
  text          kept as sent, e.g. the tariff indicator `(0002)`
  hex_text      hex-encoded ASCII, e.g. equipment identifiers and text messages; kept as sent
                when it is not (older meters send some of these as plain text)
  timestamp     the telegram's clock `(YYMMDDhhmmssX)`
  timestamped   a capture time then a quantity: M-Bus values, Belgian peak demand
  legacy_mbus   DSMR 2.2/3 gas: `(time)(..)(..)(..)(obis)(unit)` with the value on the next line
  event_log     count, event OBIS, then (time)(duration) pairs: the power failure log
  demand_history  Belgian monthly peaks: count, two OBIS, then (start)(time)(value) triples
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Mapping

MBUS_CHANNELS = (1, 2, 3, 4)
KINDS = frozenset(
    {"quantity", "text", "hex_text", "timestamp", "timestamped", "legacy_mbus", "event_log", "demand_history"}
)


@dataclass(frozen=True)
class TelegramSpec:
    """One DSMR variant: its name, whether its telegrams end in a CRC, and its objects."""

    name: str
    checksum: bool
    objects: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        expanded: dict[str, str] = {}
        for code, kind in self.objects.items():
            if kind not in KINDS:
                raise ValueError(f"{self.name}: unknown kind {kind!r} for {code}")
            if "-n:" in code:
                for channel in MBUS_CHANNELS:
                    expanded[code.replace("-n:", f"-{channel}:")] = kind
            else:
                expanded[code] = kind
        object.__setattr__(self, "objects", MappingProxyType(expanded))


_COMMON = {
    "0-0:1.0.0": "timestamp",
    "0-0:96.1.1": "hex_text",
    "0-0:96.14.0": "text",
    "0-0:96.13.1": "hex_text",
    "0-0:96.13.0": "hex_text",
    "0-0:96.3.10": "text",
    "0-0:17.0.0": "quantity",
    "1-0:1.8.1": "quantity",
    "1-0:1.8.2": "quantity",
    "1-0:2.8.1": "quantity",
    "1-0:2.8.2": "quantity",
    "1-0:1.7.0": "quantity",
    "1-0:2.7.0": "quantity",
    "0-n:24.1.0": "text",
    "0-n:96.1.0": "hex_text",
}

_DSMR4_ADDITIONS = {
    "1-3:0.2.8": "text",
    "0-0:96.7.21": "quantity",
    "0-0:96.7.9": "quantity",
    "1-0:99.97.0": "event_log",
    "1-0:32.32.0": "quantity",
    "1-0:52.32.0": "quantity",
    "1-0:72.32.0": "quantity",
    "1-0:32.36.0": "quantity",
    "1-0:52.36.0": "quantity",
    "1-0:72.36.0": "quantity",
    "1-0:32.7.0": "quantity",
    "1-0:52.7.0": "quantity",
    "1-0:72.7.0": "quantity",
    "1-0:31.7.0": "quantity",
    "1-0:51.7.0": "quantity",
    "1-0:71.7.0": "quantity",
    "1-0:21.7.0": "quantity",
    "1-0:41.7.0": "quantity",
    "1-0:61.7.0": "quantity",
    "1-0:22.7.0": "quantity",
    "1-0:42.7.0": "quantity",
    "1-0:62.7.0": "quantity",
    "0-n:24.2.1": "timestamped",
}

DSMR_2_2 = TelegramSpec(
    "DSMR 2.2",
    checksum=False,
    objects={**_COMMON, "0-n:24.3.0": "legacy_mbus", "0-n:24.4.0": "text"},
)
DSMR_3 = TelegramSpec("DSMR 3", checksum=False, objects={**_COMMON, "0-n:24.3.0": "legacy_mbus", "0-n:24.4.0": "text"})
DSMR_4 = TelegramSpec("DSMR 4", checksum=True, objects={**_COMMON, **_DSMR4_ADDITIONS})
DSMR_5 = TelegramSpec("DSMR 5", checksum=True, objects={**_COMMON, **_DSMR4_ADDITIONS})
BELGIUM_FLUVIUS = TelegramSpec(
    "Belgium Fluvius e-MUCS",
    checksum=True,
    objects={
        **_COMMON,
        **_DSMR4_ADDITIONS,
        "0-0:96.1.4": "text",
        "1-0:1.4.0": "quantity",
        "1-0:1.6.0": "timestamped",
        "0-0:98.1.0": "demand_history",
        "1-0:31.4.0": "quantity",
        "0-n:24.2.3": "timestamped",
        "0-n:96.1.1": "hex_text",
        "0-n:24.4.0": "text",
    },
)
LUXEMBOURG_SMARTY = TelegramSpec(
    "Luxembourg Smarty",
    checksum=True,
    objects={
        **_COMMON,
        **_DSMR4_ADDITIONS,
        "0-0:42.0.0": "hex_text",
        "1-0:1.8.0": "quantity",
        "1-0:2.8.0": "quantity",
        "1-0:3.8.0": "quantity",
        "1-0:4.8.0": "quantity",
        "1-0:3.7.0": "quantity",
        "1-0:4.7.0": "quantity",
    },
)

SPECS: Mapping[str, TelegramSpec] = MappingProxyType(
    {
        "dsmr22": DSMR_2_2,
        "dsmr3": DSMR_3,
        "dsmr4": DSMR_4,
        "dsmr5": DSMR_5,
        "belgium": BELGIUM_FLUVIUS,
        "luxembourg": LUXEMBOURG_SMARTY,
    }
)

# Without a chosen spec: every variant's objects (they never give one code two meanings that
# differ in syntax), and a CRC is checked whenever the telegram carries one.
AUTO = TelegramSpec(
    "auto",
    checksum=False,
    objects={
        **DSMR_3.objects,
        **DSMR_5.objects,
        **BELGIUM_FLUVIUS.objects,
        **LUXEMBOURG_SMARTY.objects,
    },
)
