"""The interval queue moves closed intervals from the store to the outbox without a chain."""

from __future__ import annotations

from meterkit import SteadyMeter

from node.store.store import MeterStore, StoreSettings
from node.submit.outbox import Outbox
from node.submit.submitter import IntervalQueue


def queue_at(tmp_path, now, length):
    store = MeterStore(tmp_path / "meter.sqlite", StoreSettings(interval=length, max_clock_skew=None), clock=lambda: now[0])
    outbox = Outbox(tmp_path / "outbox.sqlite")
    return store, outbox, IntervalQueue(store, outbox, lambda: now[0])


def test_a_node_started_mid_interval_queues_that_interval_at_once_instead_of_holding_back_the_rest(tmp_path):
    length = 900
    start = 1_800_000_000 // length * length
    now = [start + 25.0]  # the node starts 25 s into an interval
    store, outbox, queue = queue_at(tmp_path, now, length)
    outbox.start_at(start // length, length)
    meter = SteadyMeter(store)
    meter.run(now[0], import_w=600, step=5)
    now[0] = start + 2 * length + 30  # both intervals closed and past the meter delay
    meter.run(now[0], import_w=600, step=5)

    assert queue.step() == 2
    first, second = outbox.entry(start // length), outbox.entry(start // length + 1)
    assert (first.complete, second.complete, second.import_wh) == (False, True, 150)


def gap_in_the_second_interval(tmp_path, length, closed_for):
    """A meter silent for 75 s across the second interval's start; `closed_for` s after that interval's end."""
    start = 1_800_000_000 // length * length
    now = [float(start)]
    store, outbox, queue = queue_at(tmp_path, now, length)
    outbox.start_at(start // length, length)
    meter = SteadyMeter(store)
    meter.run(start + length - 10, import_w=600, step=5)
    meter.skip_to(start + length + 65)
    now[0] = start + 2 * length + closed_for
    meter.run(now[0], import_w=600, step=5)
    return outbox, queue, start // length + 1


def test_an_interval_with_a_gap_waits_for_the_meter_up_to_five_minutes(tmp_path):
    outbox, queue, gapped = gap_in_the_second_interval(tmp_path, 900, closed_for=100)

    assert (queue.step(), outbox.entry(gapped)) == (1, None)


def test_an_interval_with_a_gap_is_queued_incomplete_after_five_minutes(tmp_path):
    outbox, queue, gapped = gap_in_the_second_interval(tmp_path, 900, closed_for=301)

    assert (queue.step(), outbox.entry(gapped).complete) == (2, False)


def test_in_a_one_minute_community_a_gap_holds_the_reading_back_a_third_of_an_interval_at_most(tmp_path):
    outbox, queue, gapped = gap_in_the_second_interval(tmp_path, 60, closed_for=21)

    assert (queue.step(), outbox.entry(gapped).complete) == (2, False)
