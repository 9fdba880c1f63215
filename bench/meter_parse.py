"""Parse throughput: DSMR 5 telegrams per second with CRC checking, ours next to dsmr_parser.

Run: .venv/bin/python -m bench.meter_parse [--seconds 3]
Both parsers get the same simulated DSMR 5 telegram (with gas on M-Bus channel 1) in the same run.
"""

from __future__ import annotations

import argparse
import platform
import time
from datetime import datetime

from node.meter.decoder import MeterDecoder
from node.meter.dsmr import SPECS, parse_telegram
from node.meter.dsmr.timestamps import METER_TIMEZONE
from node.meter.simulator.household import PROFILES, Household
from node.meter.simulator.meter import SimulatedMeter
from bench.results import save



def rate(work, seconds: float) -> float:
    """Calls of `work` per second, measured over about `seconds`."""
    work()
    calls, started = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - started) < seconds:
        for _ in range(100):
            work()
        calls += 100
    return calls / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="measuring time per parser")
    args = parser.parse_args()

    meter = SimulatedMeter(Household(PROFILES["prosumer"], 1), datetime(2024, 6, 21, 12, tzinfo=METER_TIMEZONE))
    telegram = meter.step()[1]
    text = telegram.decode("ascii")

    from dsmr_parser import telegram_specifications
    from dsmr_parser.parsers import TelegramParser

    theirs = TelegramParser(telegram_specifications.V5, apply_checksum_validation=True)
    assert parse_telegram(telegram, SPECS["dsmr5"]).crc_ok
    theirs.parse(text)

    ours = rate(lambda: parse_telegram(telegram, SPECS["dsmr5"]), args.seconds)
    decoder = MeterDecoder(formats=frozenset({"dsmr"}))
    stream = rate(lambda: decoder.feed(telegram), args.seconds)
    reference = rate(lambda: theirs.parse(text), args.seconds)

    figures = {
        "telegram_bytes": len(telegram),
        "gridcommons_parse_per_s": round(ours),
        "gridcommons_stream_decode_per_s": round(stream),
        "dsmr_parser_per_s": round(reference),
        "ratio": round(ours / reference, 2),
        "stream_ratio": round(stream / reference, 2),
        "target_ratio": 5,
        "python": platform.python_version(),
        "machine": platform.machine(),
    }
    print(f"DSMR 5 telegram, {len(telegram)} bytes, CRC checked")
    print(f"  gridcommons parse_telegram   {ours:>9,.0f} telegrams/s")
    print(f"  gridcommons MeterDecoder     {stream:>9,.0f} telegrams/s (framing included)")
    print(f"  dsmr_parser TelegramParser   {reference:>9,.0f} telegrams/s")
    print(f"  ratio                        {ours / reference:>9.1f}x (framing included: {stream / reference:.1f}x; target 5x)")
    save("meter_parse", figures)


if __name__ == "__main__":
    main()
