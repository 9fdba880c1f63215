"""Smart meter reading: DSMR P1 telegrams and encrypted DLMS/COSEM frames, into normalised readings.

Parsing is separate from transport: `MeterDecoder` turns bytes into `Reading`s whatever they came
through; `node.meter.transport` reads a serial port. Heavy libraries (pyserial, pycryptodome)
are imported only where used.
"""

from node.meter.decoder import MeterDecoder
from node.meter.dlms.ciphering import MeterKeys
from node.meter.dsmr import SPECS, TelegramSpec, parse_telegram
from node.meter.reading import Reading, Rejection, Value

__all__ = ["SPECS", "MeterDecoder", "MeterKeys", "Reading", "Rejection", "TelegramSpec", "Value", "parse_telegram"]
