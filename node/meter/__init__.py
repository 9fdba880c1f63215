"""Smart meter reading: DSMR P1 telegrams and encrypted DLMS/COSEM frames, into normalised readings.

Parsing is separate from transport: `MeterDecoder` turns bytes into `Reading`s whatever they came
through; `node.meter.transport` reads a serial port. The names below load on first use, so that
`gridcommons --help` (which imports node.meter.cli) stays fast.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "MeterDecoder": "node.meter.decoder",
    "MeterKeys": "node.meter.dlms.ciphering",
    "SPECS": "node.meter.dsmr.specs",
    "TelegramSpec": "node.meter.dsmr.specs",
    "parse_telegram": "node.meter.dsmr.parser",
    "Reading": "node.meter.reading",
    "Rejection": "node.meter.reading",
    "Value": "node.meter.reading",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'node.meter' has no attribute {name!r}")
