"""The demo's parts on their own: its first moment, the meters on pseudo-terminals, the weeks of
history it gives each household, how the narrator tells a peer deal, and the clear refusals of
`gridcommons demo run`."""

from __future__ import annotations

import json
import os
import select
import socket
import subprocess
import sys
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path
from types import SimpleNamespace

from node.chain.deployment import Deployment
from node.demo.community import HISTORY_DAYS, TIMEZONE, DemoState, first_moment
from node.demo.history import write_history
from node.demo.meters import PtyMeters
from node.demo.narrator import DealTeller
from node.meter.decoder import MeterDecoder
from node.meter.reading import Reading
from node.runtime.meter_feed import resumed_meter
from node.store.store import MeterStore

ROOT = Path(__file__).parents[2]
CHAIN_PORT = 18840  # the demo's refusals; nothing else listens here


def test_the_demo_starts_at_the_next_late_morning_in_the_community_time_zone():
    before_eleven = datetime(2026, 11, 21, 9, 30, tzinfo=TIMEZONE).timestamp()
    after_eleven = datetime(2026, 11, 21, 15, 0, tzinfo=TIMEZONE).timestamp()

    assert datetime.fromtimestamp(first_moment(before_eleven), TIMEZONE) == datetime(2026, 11, 21, 11, tzinfo=TIMEZONE)
    assert datetime.fromtimestamp(first_moment(after_eleven), TIMEZONE) == datetime(2026, 11, 22, 11, tzinfo=TIMEZONE)


def test_a_household_history_is_weeks_of_complete_intervals_that_the_live_meter_continues(tmp_path):
    end = datetime(2026, 11, 22, 11, tzinfo=TIMEZONE).timestamp()
    path = tmp_path / "meter.sqlite"

    written = write_history(path, "prosumer", 5, end, HISTORY_DAYS)

    with MeterStore(path, clock=lambda: end) as store:
        day = store.interval_energy(datetime.fromtimestamp(end - 86400, timezone.utc), datetime.fromtimestamp(end - 900, timezone.utc))
        latest = store.latest()
    assert written == HISTORY_DAYS * 1440 - 1
    assert [e.complete for e in day] == [True] * 95
    assert sum(e.import_wh for e in day) > 0 and sum(e.export_wh for e in day) > 0
    meter = resumed_meter("prosumer", 5, 10.0, end, latest)
    assert meter.moment.timestamp() == latest.ts
    assert sum(meter.registers.import_mwh) // 1000 == latest.import_wh


def test_each_meter_sends_decodable_telegrams_on_its_own_pty_as_its_clock_advances():
    now = [datetime(2026, 11, 22, 11, tzinfo=TIMEZONE).timestamp()]
    meters = PtyMeters(lambda: now[0], tick=0.01)
    device = meters.add(resumed_meter("producer", 1, 10.0, now[0], None))
    reader = os.open(device, os.O_RDONLY | os.O_NOCTTY)
    meters.start()
    try:
        now[0] += 30  # three telegrams fall due
        decoder, readings = MeterDecoder(), []
        while len(readings) < 3 and select.select([reader], [], [], 5)[0]:
            readings += [e for e in decoder.feed(os.read(reader, 65536)) if isinstance(e, Reading)]
    finally:
        meters.stop()
        os.close(reader)
    assert [r.timestamp.timestamp() - (now[0] - 30) for r in readings] == [10, 20, 30]
    assert {r.meter_id for r in readings} == {"E0099000000000001"}


def test_the_narrator_tells_each_step_of_a_peer_deal_on_one_line():
    producer, consumer, nobody = "0x" + "11" * 20, "0x" + "22" * 20, "0x" + "00" * 20
    teller = DealTeller({producer: "de-vries", consumer: "bakker"}, 900, TIMEZONE)
    noon = int(datetime(2026, 11, 21, 12, tzinfo=TIMEZONE).timestamp()) // 900
    credit = 10**18

    def told(event: str, **args) -> str:
        return teller.line(event, SimpleNamespace(**args))

    assert [
        told("OfferPosted", offerId=1, producer=producer, wh=354, pricePerKWh=8 * 10**16, firstInterval=noon,
             lastInterval=noon + 3),
        told("OfferAccepted", offerId=1, producer=producer, consumer=consumer, cost=354 * 8 * 10**13),
        told("DeliveryRecorded", offerId=1, producer=producer, consumer=consumer, interval=noon, wh=117,
             tokens=117 * 8 * 10**13),
        told("ExchangeCompleted", offerId=1, producer=producer, consumer=consumer, wh=354, cost=354 * 8 * 10**13),
        told("ExchangeExpired", offerId=1, producer=producer, consumer=consumer, deliveredWh=200, refunded=credit // 80),
        told("ExchangeExpired", offerId=2, producer=producer, consumer=nobody, deliveredWh=0, refunded=0),
    ] == [
        "de-vries offers 354 Wh for Sat 12:00–13:00 at 0.080 credits/kWh (offer #1)",
        "bakker accepted offer #1 from de-vries: 0.0283 credits in escrow",
        f"offer #1: de-vries delivered 117 Wh to bakker in interval {noon} (Sat 12:00–12:15) for 0.0094 credits",
        "offer #1 completed: bakker received all 354 Wh from de-vries for 0.0283 credits",
        "offer #1 expired: 200 of 354 Wh delivered, 0.0125 credits refunded to bakker",
        "offer #2 from de-vries expired: nobody accepted it",
    ]


def _demo(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "node.cli", "demo", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)


def test_demo_refuses_to_start_when_its_chain_port_is_taken_and_touches_no_files(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", CHAIN_PORT))
        taken.listen()
        result = _demo("run", "--dir", str(tmp_path / "demo"), "--chain-port", str(CHAIN_PORT), "--for", "0")

    assert result.returncode == 1
    assert f"port {CHAIN_PORT} is in use (is a demo already running?)" in result.stderr
    assert not (tmp_path / "demo").exists()


def test_demo_whose_chain_state_was_lost_says_to_start_afresh_and_keeps_the_node_folders(tmp_path):
    root = tmp_path / "demo"
    (root / "de-vries" / "data").mkdir(parents=True)
    (root / "de-vries" / "data" / "meter.sqlite").write_bytes(b"kept")
    lost = Deployment("ethereum:local:foundry", 1337, 1, "0x" + "ab" * 32, "0x" + "00" * 20, {})
    (root / "demo.json").write_text(json.dumps(asdict(DemoState(60.0, 2_000_000_000.0, asdict(lost)))))

    result = _demo("run", "--dir", str(root), "--chain-port", str(CHAIN_PORT), "--first-dapp-port", "18841", "--for", "0")

    assert result.returncode == 1
    assert "the demo's chain state is gone" in result.stderr and "make demo-reset" in result.stderr
    assert (root / "de-vries" / "data" / "meter.sqlite").read_bytes() == b"kept"


def test_demo_reset_forgets_the_community(tmp_path):
    root = tmp_path / "demo"
    (root / "smit").mkdir(parents=True)

    result = _demo("reset", "--dir", str(root))

    assert result.returncode == 0
    assert not root.exists()
