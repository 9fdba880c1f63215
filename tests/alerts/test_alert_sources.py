"""What the checks read, from the node's real files and a real chain: complete hours from the meter
store, the outbox's waiting intervals, and the chain's head and the mirror's block."""

from __future__ import annotations

from datetime import date

import pytest
from alertkit import ZONE, at, write_steady_meter

from node.alerts.alert import CHAIN_STALLED, CHAIN_UNREACHABLE
from node.alerts.health import OutboxSeen, health_verdict
from node.alerts.sources import chain_seen, hourly_use, node_snapshot, outbox_seen
from node.chain.anvil import AnvilSettings, EmbeddedAnvil
from node.chain.client import connect
from node.store.store import MeterStore
from node.submit.outbox import ON_CHAIN, REFUSED, Outbox

ANVIL_PORT = 18820
SILENT_PORT = 18821  # nothing listens here
INTERVAL = 900


@pytest.fixture(scope="module")
def chain():
    with EmbeddedAnvil(AnvilSettings(port=ANVIL_PORT)) as anvil:
        yield connect(anvil.url)


def test_hourly_use_gives_each_complete_local_hour_and_leaves_out_one_with_a_gap(tmp_path):
    three = int(at(date(2026, 1, 6), 3).timestamp())
    gap = range(three + 600, three + 1200)  # ten minutes without readings in Tuesday's 03:00 hour
    write_steady_meter(tmp_path / "meter.sqlite", at(date(2026, 1, 5)), at(date(2026, 1, 7), 9), 400, skip=gap.__contains__)

    with MeterStore(tmp_path / "meter.sqlite", local=ZONE) as store:
        hours = hourly_use(store, at(date(2026, 1, 7), 9).timestamp() + 1800, days=2)

    expected = [at(date(2026, 1, 5), h) for h in range(24)] + [at(date(2026, 1, 6), h) for h in range(24) if h != 3] \
        + [at(date(2026, 1, 7), h) for h in range(9)]
    assert [hour.start for hour in hours] == expected
    assert {hour.wh for hour in hours} == {400}  # 400 W for an hour


def test_outbox_seen_counts_the_waiting_intervals_and_names_the_oldest(tmp_path):
    outbox = Outbox(tmp_path / "outbox.sqlite")
    for interval in (100, 101, 102):
        outbox.enqueue(interval, 250, 0, True, at=interval * INTERVAL)
    outbox.finish(100, ON_CHAIN, at=101 * INTERVAL)
    outbox.note(101, "waiting for interval 100 to be settled")
    outbox.enqueue(99, 90_000, 0, True, at=99 * INTERVAL)
    outbox.finish(99, REFUSED, at=100 * INTERVAL, note="beyond the limits")

    seen = outbox_seen(outbox)
    outbox.close()

    assert seen == OutboxSeen(waiting=2, oldest=101, note="waiting for interval 100 to be settled",
                              refused=(99, "beyond the limits", 100 * INTERVAL))


def test_a_chain_nobody_answers_for_is_seen_unreachable_and_raises_the_alert():
    seen = chain_seen(f"http://127.0.0.1:{SILENT_PORT}", mirror_block=12)

    snapshot = node_snapshot(now=1e9, wall_now=1e9, interval=INTERVAL, last_reading=1e9, status=None, chain=seen,
                             outbox=None)

    assert seen.reachable is False
    assert f"127.0.0.1:{SILENT_PORT}" in seen.error
    assert [alert.kind for alert in health_verdict(snapshot).alerts] == [CHAIN_UNREACHABLE]


def test_a_real_chain_without_blocks_for_four_intervals_is_stalled(chain):
    start = chain.eth.get_block("latest")["timestamp"] + 10_000
    for offset in (0, 60, 120):  # three blocks a minute apart; the mirror has the first
        chain.provider.make_request("evm_setTime", [start + offset])
        chain.provider.make_request("evm_mine", [])
    head = chain.eth.block_number

    seen = chain_seen(chain.provider.endpoint_uri, mirror_block=head - 2)
    status = {"written_at": 5000.0, "parts": {"mirror": {"last_error": None}, "chain": {"last_error": "boom"}}}
    snapshot = node_snapshot(now=start + 120 + 4 * INTERVAL, wall_now=5001.0, interval=INTERVAL,
                             last_reading=start + 120 + 4 * INTERVAL, status=status, chain=seen, outbox=None)

    assert (seen.head, seen.head_time, seen.mirror_block, seen.mirror_time) == (head, start + 120, head - 2, start)
    assert (snapshot.node_running, snapshot.part_errors) == (True, {"chain": "boom"})
    stalled = health_verdict(snapshot).alerts
    assert [(alert.kind, alert.seen) for alert in stalled] == [(CHAIN_STALLED, f"no new block for 1 h (head {head})")]


def test_a_status_file_older_than_ten_seconds_means_the_node_is_not_running():
    snapshot = node_snapshot(now=0, wall_now=5011.0, interval=INTERVAL, last_reading=None,
                             status={"written_at": 5000.0}, chain=chain_seen(f"http://127.0.0.1:{SILENT_PORT}", None),
                             outbox=None)

    assert snapshot.node_running is False
