"""The interval queue moves closed intervals from the store to the outbox without a chain."""

from __future__ import annotations

from meterkit import SteadyMeter

from node.store.store import MeterStore, StoreSettings
from node.submit.outbox import Outbox
from node.submit.submitter import IntervalQueue

LENGTH = 60


def queue_at(tmp_path, now):
    store = MeterStore(tmp_path / "meter.sqlite", StoreSettings(interval=LENGTH, max_clock_skew=None), clock=lambda: now[0])
    outbox = Outbox(tmp_path / "outbox.sqlite")
    return store, outbox, IntervalQueue(store, outbox, lambda: now[0])


def test_a_node_started_mid_interval_queues_that_interval_at_once_instead_of_holding_back_the_rest(tmp_path):
    start = 1_800_000_000 // LENGTH * LENGTH
    now = [start + 25.0]  # the node starts 25 s into an interval
    store, outbox, queue = queue_at(tmp_path, now)
    outbox.start_at(start // LENGTH, LENGTH)
    meter = SteadyMeter(store)
    meter.run(now[0], import_w=600, step=5)
    now[0] = start + 2 * LENGTH + 30  # both intervals closed and past the meter delay
    meter.run(now[0], import_w=600, step=5)

    assert queue.step() == 2
    first, second = outbox.entry(start // LENGTH), outbox.entry(start // LENGTH + 1)
    assert (first.complete, second.complete, second.import_wh) == (False, True, 10)


def test_an_interval_with_a_gap_still_waits_for_the_meter(tmp_path):
    start = 1_800_000_000 // LENGTH * LENGTH
    now = [float(start)]
    store, outbox, queue = queue_at(tmp_path, now)
    outbox.start_at(start // LENGTH, LENGTH)
    meter = SteadyMeter(store)
    meter.run(start + 10, import_w=600, step=5)
    meter.skip_to(start + LENGTH + 20)  # silent for 75 s across the second interval's start
    now[0] = start + 2 * LENGTH + 30
    meter.run(now[0], import_w=600, step=5)

    assert queue.step() == 1  # the first, metered from 10 s in: final
    assert outbox.entry(start // LENGTH + 1) is None  # the gap may yet be filled (give_up_waiting)
