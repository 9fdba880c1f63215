"""Interval submission: closed intervals go from the meter store to the outbox, and from the outbox
onto the chain, in order, each exactly once.

Exactly once rests on the chain, not on the node's memory: the Community contract takes one reading
per member and interval, in order. Before sending, the submitter asks the chain whether the reading
is already there ("already submitted" counts as success), so a restart after a kill at any point —
before the broadcast, after it, after mining — neither loses nor doubles a reading.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable, Iterable

from node.chain.community import CommunityView
from node.chain.sender import TransactionFailed, TransactionPending, TransactionSender
from node.participation import PPM, check_factors, share
from node.store.errors import StoreError
from node.store.intervals import LATE_START
from node.store.store import MeterStore
from node.submit.outbox import MISSED, ON_CHAIN, REFUSED, SENDING, Entry, Outbox
from node.submit.settler import Settler

log = logging.getLogger(__name__)

# Errors meaning "not yet": the entry stays at the head and is retried on a later tick.
_WAIT_ERRORS = {"CommunityIntervalNotEnded", "CommunityPreviousIntervalUnsettled"}


@dataclass(frozen=True)
class SubmissionSettings:
    """Seconds after an interval's end."""

    meter_delay: float = 20.0  # wait for the reading that closes the interval
    give_up_waiting: float = 300.0  # then queue what the store has, even if incomplete (a third of a
    # shorter interval at most: every neighbour's settlement waits for this node's reading)
    max_per_tick: int = 16  # entries handled per tick while catching up


class IntervalQueue:
    """Moves closed, measured intervals from the meter store into the outbox. Needs no chain, so
    readings keep queueing while the chain is down. Call `step()` regularly.

    The outbox is one community's: it gets `participation_ppm` of each interval's import and export
    (node.participation; 100 %, the default, queues the meter's Wh as they are)."""

    def __init__(self, store: MeterStore, outbox: Outbox, clock: Callable[[], float],
                 settings: SubmissionSettings = SubmissionSettings(), participation_ppm: int = PPM):
        self.store = store
        self.outbox = outbox
        self.clock = clock
        self.settings = settings
        check_factors([participation_ppm])  # above 0, at most 100 %
        self.participation_ppm = participation_ppm

    def step(self) -> int:
        """Queue every interval that has closed and been measured; returns how many were queued."""
        length = self.outbox.interval_length
        first = self.outbox.queued_until
        if length is None or first is None:
            return 0  # the submitter has not met the chain yet
        if length != self.store.settings.interval:
            raise StoreError(f"the store's interval ({self.store.settings.interval} s) differs from the community's ({length} s)")
        now = self.clock()
        last_closed = int(now - self.settings.meter_delay) // length - 1
        if first > last_closed:
            return 0
        energies = self.store.interval_energy(_utc(first * length), _utc((last_closed + 1) * length))
        queued = 0
        for interval, energy in zip(range(first, last_closed + 1), energies):
            overdue = now >= (interval + 1) * length + min(self.settings.give_up_waiting, length / 3)
            # A meter read from mid-interval on (the node started then) gains nothing by waiting,
            # while every neighbour's settlement of the interval waits for it.
            final = tuple(energy.issues) == (LATE_START,)
            if not energy.complete and not overdue and not final:
                break  # keep order: later intervals wait for this one
            if not energy.complete:
                log.warning("interval %d queued incomplete (%s)", interval, ", ".join(energy.issues))
            factor = self.participation_ppm
            self.outbox.enqueue(interval, share(energy.import_wh, factor), share(energy.export_wh, factor),
                                energy.complete, now)
            queued += 1
        return queued

    def close(self) -> None:
        self.store.close()
        self.outbox.close()


class IntervalSubmitter:
    """Sends the outbox to the chain in order. Call `tick()` regularly."""

    def __init__(
        self,
        outbox: Outbox,
        community: CommunityView,
        sender: TransactionSender,
        settler: Settler,
        clock: Callable[[], float],
        settings: SubmissionSettings = SubmissionSettings(),
        on_reading: Iterable[Callable[[int], None]] = (),
    ):
        self.outbox = outbox
        self.community = community
        self.sender = sender
        self.settler = settler
        self.clock = clock
        self.settings = settings
        self.on_reading = tuple(on_reading)
        self.member_id = community.member_id(sender.address)
        length = community.interval_length
        self.outbox.start_at(max(community.first_interval, int(clock()) // length), length)

    def tick(self) -> None:
        """Settle what is due, and send what can be sent, oldest first."""
        for _ in range(self.settings.max_per_tick):
            self.settler.settle_latest_reading(self.member_id)
            if not self.submit_next():
                break

    # -- outbox -> chain ------------------------------------------------------------------

    def submit_next(self) -> bool:
        """Handle the oldest waiting entry; True if it left the queue."""
        entry = self.outbox.head()
        if entry is None:
            return False
        ledger = self.community.ledger(self.member_id)
        if ledger.reading_interval == entry.interval:
            return self._done(entry, ON_CHAIN, "already on chain" if entry.state != SENDING else None)
        if ledger.reading_interval > entry.interval or self.community.is_settled(entry.interval):
            # The chain moved past this interval without our reading: it can never count now.
            log.error("interval %d was settled before its reading reached the chain", entry.interval)
            return self._done(entry, MISSED, "settled before the reading reached the chain")
        if ledger.reading_interval and not self.community.is_settled(ledger.reading_interval):
            self.outbox.note(entry.interval, f"waiting for interval {ledger.reading_interval} to be settled")
            return False
        beyond = self._beyond_limits(entry)
        if beyond:
            # The contract would refuse it, and the queue behind it would wait for ever.
            log.error("interval %d not submitted: %s", entry.interval, beyond)
            return self._done(entry, REFUSED, beyond)
        return self._send(entry)

    def _beyond_limits(self, entry: Entry) -> str | None:
        """Why a reading is more than the household can physically import or export, or None."""
        member = self.community.member(self.member_id)
        import_limit, export_limit = member.limits_wh(self.community.interval_length)
        if entry.import_wh <= import_limit and entry.export_wh <= export_limit:
            return None
        return (f"{entry.import_wh} Wh imported and {entry.export_wh} Wh exported in one interval, beyond this "
                f"household's limits on chain ({member.import_limit_w / 1000:g} kW grid connection: {import_limit} Wh; "
                f"{member.export_limit_w / 1000:g} kW generation: {export_limit} Wh)")

    def _send(self, entry: Entry) -> bool:
        call = self.community.contract.functions.submitReading(entry.interval, entry.import_wh, entry.export_wh)
        try:
            sent = self.sender.transact(
                call,
                f"reading of interval {entry.interval}",
                before_broadcast=lambda tx_hash, nonce: self.outbox.mark_sending(entry.interval, tx_hash, nonce),
            )
        except TransactionFailed as failure:
            name = failure.error.name if failure.error else None
            if name == "CommunityReadingExists":
                return self._done(entry, ON_CHAIN, "already on chain")
            self.outbox.note(entry.interval, str(failure))
            if name not in _WAIT_ERRORS:
                log.warning("%s", failure)
            return False
        except TransactionPending as pending:
            self.outbox.note(entry.interval, str(pending))
            return False
        return self._done(entry, ON_CHAIN, f"block {sent.block_number}")

    def _done(self, entry: Entry, state: str, note: str | None) -> bool:
        self.outbox.finish(entry.interval, state, self.clock(), note)
        if state == ON_CHAIN:
            for listener in self.on_reading:
                listener(entry.interval)
        return True


def _utc(unix: int) -> datetime:
    return datetime.fromtimestamp(unix, timezone.utc)
