"""Silent meter, stalled chain, growing outbox and readings beyond the limits, judged on fabricated node snapshots (node time)."""

from __future__ import annotations

from dataclasses import replace

from node.alerts.alert import (BEYOND_LIMITS, CHAIN_STALLED, CHAIN_UNREACHABLE, CRITICAL, MIRROR_BEHIND,
                               OUTBOX_GROWING, SILENT_METER, WARNING, Verdict)
from node.alerts.health import (ChainSeen, NodeSnapshot, OutboxSeen, chain_trouble, growing_outbox,
                                health_verdict, reading_beyond_limits, silent_meter)

INTERVAL = 900
NOW = 1_767_700_000.0  # 100 s into an interval
HEALTHY = NodeSnapshot(
    now=NOW,
    interval=INTERVAL,
    last_reading=NOW - 8,
    node_running=True,
    chain=ChainSeen(True, head=5400, head_time=NOW - 20, mirror_block=5400, mirror_time=NOW - 20),
    outbox=OutboxSeen(waiting=1, oldest=int(NOW) // INTERVAL - 1, note=None),
)


def test_a_healthy_node_raises_nothing():
    assert health_verdict(HEALTHY) == Verdict()


def test_no_reading_for_half_an_hour_is_a_silent_meter_since_the_last_reading():
    alert = silent_meter(replace(HEALTHY, last_reading=NOW - 1800))

    assert (alert.kind, alert.severity, alert.seen, alert.expected, alert.since, alert.help) == (
        SILENT_METER, CRITICAL, "no reading stored for 30 min", "a reading at least every 5 min", NOW - 1800,
        "no-telegrams")


def test_a_silent_meter_of_a_stopped_node_says_to_start_the_node():
    alert = silent_meter(replace(HEALTHY, last_reading=NOW - 1800, node_running=False))

    assert "gridcommons node run" in alert.advice


def test_a_few_quiet_minutes_are_no_silent_meter():
    assert silent_meter(replace(HEALTHY, last_reading=NOW - 240)) is None


def test_an_accelerated_demo_needs_half_a_minute_of_wall_time_before_the_meter_is_silent():
    demo = replace(HEALTHY, time_factor=60.0)

    assert silent_meter(replace(demo, last_reading=NOW - 600)) is None  # 10 wall seconds
    assert silent_meter(replace(demo, last_reading=NOW - 1900)).expected == "a reading at least every 30 min"


def test_a_meter_never_heard_from_is_not_judged_and_says_so():
    verdict = health_verdict(replace(HEALTHY, last_reading=None))

    assert verdict == Verdict(not_judged=("Meter: no reading stored yet.",))


def test_an_unreachable_chain_is_critical_and_quotes_the_error():
    down = ChainSeen(False, error="no chain client answers at http://127.0.0.1:8545: connection refused")

    alert = chain_trouble(replace(HEALTHY, chain=down))

    assert (alert.kind, alert.severity, alert.seen, alert.help) == (
        CHAIN_UNREACHABLE, CRITICAL, "no chain client answers at http://127.0.0.1:8545: connection refused",
        "chain-unreachable")


def test_no_block_for_more_than_three_intervals_is_a_stalled_chain():
    stuck = ChainSeen(True, head=5400, head_time=NOW - 3700, mirror_block=5400, mirror_time=NOW - 3700)

    alert = chain_trouble(replace(HEALTHY, chain=stuck))

    assert (alert.kind, alert.seen, alert.expected, alert.since) == (
        CHAIN_STALLED, "no new block for 1 h 1 min (head 5400)",
        "a block at least every 15 min, with each interval's readings", NOW - 3700)


def test_a_quiet_chain_within_three_intervals_is_not_stalled():
    quiet = ChainSeen(True, head=5400, head_time=NOW - 2600, mirror_block=5400, mirror_time=NOW - 2600)

    assert chain_trouble(replace(HEALTHY, chain=quiet)) is None


def test_a_mirror_two_intervals_behind_the_head_says_where_it_is_and_why():
    behind = ChainSeen(True, head=5400, head_time=NOW - 20, mirror_block=5100, mirror_time=NOW - 20 - 2700)

    alert = chain_trouble(replace(HEALTHY, chain=behind, part_errors={"mirror": "OSError: disk full"}))

    assert (alert.kind, alert.severity, alert.seen, alert.expected) == (
        MIRROR_BEHIND, WARNING,
        "events mirrored up to block 5100, 45 min behind the head (block 5400); the mirror part reports: OSError: disk full",
        "within 30 min of the head")


def test_intervals_waiting_for_over_an_hour_are_a_growing_outbox_since_the_oldest_ended():
    oldest = int(NOW) // INTERVAL - 6
    waiting = OutboxSeen(waiting=6, oldest=oldest, note="waiting for interval 1964108 to be settled")

    alert = growing_outbox(replace(HEALTHY, outbox=waiting))

    # NOW is 100 s into an interval: the oldest ended five intervals and 100 s ago.
    assert (alert.kind, alert.seen, alert.since) == (
        OUTBOX_GROWING, "6 intervals waiting, the oldest for 1 h 16 min (waiting for interval 1964108 to be settled)",
        NOW - 5 * INTERVAL - 100)


def test_an_outbox_without_a_note_gives_the_chain_parts_error():
    waiting = OutboxSeen(waiting=8, oldest=int(NOW) // INTERVAL - 8)

    alert = growing_outbox(replace(HEALTHY, outbox=waiting, part_errors={"chain": "ChainError: not a member"}))

    assert alert.seen.endswith("(ChainError: not a member)")


def test_an_outbox_emptied_each_interval_is_no_alert():
    assert growing_outbox(replace(HEALTHY, outbox=OutboxSeen(waiting=2, oldest=int(NOW) // INTERVAL - 2))) is None


def test_critical_alerts_come_first():
    trouble = replace(HEALTHY, last_reading=NOW - 1800, outbox=OutboxSeen(8, int(NOW) // INTERVAL - 8),
                      chain=ChainSeen(False, error="connection refused"))

    verdict = health_verdict(trouble)

    assert [alert.kind for alert in verdict.alerts] == [SILENT_METER, CHAIN_UNREACHABLE, OUTBOX_GROWING]


def test_a_reading_held_back_beyond_the_limits_is_a_critical_alert_for_a_day():
    why = "300 Wh imported and 0 Wh exported in one interval, beyond this household's limits on chain"
    held = OutboxSeen(waiting=0, oldest=None, refused=(int(NOW) // INTERVAL - 1, why, NOW - 60))

    alert = reading_beyond_limits(replace(HEALTHY, outbox=held))
    a_day_later = reading_beyond_limits(replace(HEALTHY, now=NOW + 86_400, outbox=held))

    assert (alert.kind, alert.severity, alert.since, alert.help) == (BEYOND_LIMITS, CRITICAL, NOW - 60,
                                                                      "reading-beyond-limits")
    assert alert.seen == f"interval {int(NOW) // INTERVAL - 1}: {why}"
    assert "set-limits" in alert.advice and "settled the interval as zero" in alert.advice
    assert a_day_later is None
    assert reading_beyond_limits(HEALTHY) is None
