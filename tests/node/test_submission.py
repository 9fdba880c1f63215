"""Interval submission against the project's anvil: closed intervals reach the chain once, in order."""

from __future__ import annotations

import pytest
from node.chain.devnet import DEV_LIMITS_W, GRACE, INTERVAL, dev_account
from meterkit import SteadyMeter

from node.chain.community import CommunityView
from node.chain.contracts import CommunityContracts, load_abis
from node.chain.sender import TransactionSender
from node.store.store import MeterStore
from node.submit.outbox import MISSED, NO_DATA, ON_CHAIN, REFUSED, Outbox
from node.submit.settler import Settler
from node.submit.submitter import IntervalQueue, IntervalSubmitter

from node.chain.devnet import MANIFEST


class Household:
    """One node's submission parts, wired as `node run` wires them."""

    def __init__(self, w3, community, clock, directory, index: int, producer: bool, consumer: bool,
                 limits_w: tuple[int, int] = DEV_LIMITS_W):
        self.account = dev_account(index)
        community.admit(self.account.address, producer, consumer, limits_w=limits_w)
        contracts = CommunityContracts(w3, community.deployment, load_abis(MANIFEST))
        self.view = CommunityView(contracts["Community"])
        self.sender = TransactionSender(w3, self.account, contracts)
        directory.mkdir()
        self.store = MeterStore(directory / "store.sqlite", clock=clock)
        self.meter = SteadyMeter(self.store, f"E{index:04d}")
        self.outbox = Outbox(directory / "outbox.sqlite")
        self.settler = Settler(self.view, self.sender, clock, patience=300)
        self.queue = IntervalQueue(self.store, self.outbox, clock)
        self.submitter = IntervalSubmitter(self.outbox, self.view, self.sender, self.settler, clock)
        self.member_id = self.view.member_id(self.account.address)

    def tick(self) -> None:
        self.queue.step()
        self.submitter.tick()


def readings_on_chain(community, member_id):
    logs = community.contracts["Community"].events.ReadingSubmitted().get_logs(
        from_block=0, argument_filters={"memberId": member_id}
    )
    return [(log.args.interval, log.args.importWh, log.args.exportWh) for log in logs]


@pytest.fixture
def pair(w3, community, clock, tmp_path):
    producer = Household(w3, community, clock, tmp_path / "producer", 1, True, False)
    consumer = Household(w3, community, clock, tmp_path / "consumer", 2, False, True)
    return producer, consumer


def run(clock, households, seconds, import_w=(0, 1200), export_w=(2400, 0), step=30):
    """Advance node time in steps; meters measure, nodes tick."""
    end = clock.now + seconds
    for household in households:
        if household.meter.ts is None:
            household.meter.run(clock.now)
    while clock.now < end:
        clock.advance(step)
        for household, imp, exp in zip(households, import_w, export_w):
            household.meter.run(clock.now, imp, exp)
            household.tick()


def test_each_closed_interval_reaches_the_chain_once_with_the_measured_energy(pair, clock, community):
    producer, consumer = pair
    first = int(clock.now) // INTERVAL
    run(clock, pair, 3 * INTERVAL + GRACE + 300)

    assert readings_on_chain(community, consumer.member_id)[:2] == [(first, 300, 0), (first + 1, 300, 0)]
    assert readings_on_chain(community, producer.member_id)[:2] == [(first, 0, 600), (first + 1, 0, 600)]
    assert consumer.view.is_settled(first) and consumer.view.is_settled(first + 1)
    assert consumer.outbox.entry(first).state == ON_CHAIN


def test_a_reading_beyond_the_households_limits_is_held_back_and_later_intervals_go_on(
    w3, community, clock, tmp_path
):
    producer = Household(w3, community, clock, tmp_path / "producer", 1, True, False)
    # A 1 kW grid connection: at most 250 Wh a quarter-hour.
    consumer = Household(w3, community, clock, tmp_path / "consumer", 2, False, True, limits_w=(1_000, 0))
    first = int(clock.now) // INTERVAL
    run(clock, (producer, consumer), INTERVAL, import_w=(0, 1200))
    run(clock, (producer, consumer), 2 * INTERVAL + GRACE + 300, import_w=(0, 800))

    refused = consumer.outbox.entry(first)
    assert refused.state == REFUSED
    assert "300 Wh imported and 0 Wh exported in one interval, beyond this household's limits" in refused.note
    assert "1 kW grid connection: 250 Wh" in refused.note
    assert readings_on_chain(community, consumer.member_id)[:1] == [(first + 1, 200, 0)]
    assert consumer.outbox.last_refused().interval == first


def test_an_interval_without_meter_data_is_recorded_and_not_sent(pair, clock, community):
    producer, consumer = pair
    first = int(clock.now) // INTERVAL
    consumer.meter.run(clock.now, 1200, 0)
    consumer.meter.skip_to(clock.now + 2 * INTERVAL)  # unplugged for two intervals
    run(clock, pair, 4 * INTERVAL)

    assert consumer.outbox.entry(first).state == NO_DATA
    assert [r[0] for r in readings_on_chain(community, consumer.member_id)][:1] == [first + 2]


def test_a_reading_already_on_chain_counts_as_submitted(pair, clock, community):
    producer, consumer = pair
    first = int(clock.now) // INTERVAL
    run(clock, pair, INTERVAL + 60)
    # A second node process with the same outbox file (e.g. restarted) finds it already done.
    again = IntervalSubmitter(Outbox(consumer.outbox.path), consumer.view, consumer.sender, consumer.settler, clock)
    again.outbox.db.execute("UPDATE outbox SET state = 'queued' WHERE interval = ?", [first])
    again.tick()

    assert again.outbox.entry(first).state == ON_CHAIN
    assert [r[0] for r in readings_on_chain(community, consumer.member_id)] == [first]


def test_a_reading_that_arrives_after_settlement_is_marked_missed(pair, clock, community):
    producer, consumer = pair
    first = int(clock.now) // INTERVAL
    producer.meter.run(clock.now, 0, 2400)
    consumer.meter.run(clock.now, 1200, 0)
    clock.advance(INTERVAL + GRACE + 400)  # past the settler's patience
    producer.meter.run(clock.now, 0, 2400)
    consumer.meter.run(clock.now, 1200, 0)
    producer.tick()  # submits
    clock.advance(INTERVAL)
    producer.tick()  # the consumer stayed silent past the patience: settles without it
    consumer.tick()

    assert consumer.outbox.entry(first).state == MISSED
    assert producer.view.is_settled(first)


def test_after_an_outage_a_node_back_first_waits_for_its_neighbours_before_settling(pair, clock, community):
    producer, consumer = pair
    first = int(clock.now) // INTERVAL
    for household in pair:
        household.meter.run(clock.now)
    clock.advance(3 * INTERVAL)  # the chain was unreachable: nobody submitted or settled
    producer.meter.run(clock.now, 0, 2400)
    consumer.meter.run(clock.now, 1200, 0)
    # Reconnected, the producer's node builds a new settler; every grace period is long over.
    producer.submitter.settler = Settler(producer.view, producer.sender, clock, patience=300)
    producer.tick()
    assert (producer.view.ledger(producer.member_id).reading_interval, producer.view.is_settled(first)) == (first, False)

    consumer.tick()  # the neighbour's queued reading arrives; now everyone reported
    producer.tick()

    assert [r[0] for r in readings_on_chain(community, consumer.member_id)][:1] == [first]
    assert producer.view.is_settled(first)
