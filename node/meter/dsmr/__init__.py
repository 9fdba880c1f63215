"""DSMR P1 telegrams: specs as data, and a parser that reads any of them."""

from node.meter.dsmr.parser import parse_telegram
from node.meter.dsmr.specs import AUTO, SPECS, TelegramSpec

__all__ = ["AUTO", "SPECS", "TelegramSpec", "parse_telegram"]
