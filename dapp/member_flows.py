"""This member's settled local energy per interval, kept up to date from the event mirror: what the
community key allocated and took, and what peer deals delivered (metered before the key shares).

A year holds 35,000 intervals per member; the mirror filters event arguments with json_extract,
so reading them all on every page view would be slow. MemberFlows reads each event once and
afterwards only the blocks the mirror added since, and starts over when the mirror rewound a reorg.
"""

from __future__ import annotations

import bisect
import itertools
import threading
from dataclasses import dataclass, field

from node.mirror.db import MirrorDB

COMMUNITY = "Community"
EXCHANGE = "EnergyExchange"
_EVENTS = ("ReadingSubmitted", "MemberSettled", "IntervalSettled", "MemberProfileChanged")


@dataclass
class Flows:
    """Per interval number: what the chain booked for one member (Wh)."""

    member_id: int | None = None
    version: int = 0  # changes whenever the figures below may have
    allocated: dict[int, int] = field(default_factory=dict)  # MemberSettled.allocatedWh (deals excluded)
    settled_import: dict[int, int] = field(default_factory=dict)  # importWh of its settled readings
    sold: dict[int, int] = field(default_factory=dict)  # its export taken by the community
    dealt_import: dict[int, int] = field(default_factory=dict)  # Wh peer deals delivered to it
    dealt_export: dict[int, int] = field(default_factory=dict)  # Wh it delivered under peer deals

    def total(self, series: dict[int, int], first: int, stop: int) -> int:
        """Sum of `series` over intervals first <= i < stop."""
        return sum(series.get(interval, 0) for interval in range(first, stop))


class MemberFlows:
    """Follows the mirror for one account (thread-safe); `refresh(mirror)` returns the current Flows."""

    def __init__(self, account: str):
        self.account = account
        self._lock = threading.Lock()
        self._versions = itertools.count(1)
        self._start_over()

    def _start_over(self) -> None:
        self._flows = Flows(version=next(self._versions))
        self._last_block = -1
        self._reorgs: int | None = None
        self._readings: dict[int, tuple[int, int]] = {}  # interval -> (importWh, exportWh)
        self._roles: list[tuple[int, int]] = []  # (block, log index) of each profile change, in order
        self._producer: list[bool] = []  # ... and whether the member was a producer after it

    def refresh(self, mirror: MirrorDB) -> Flows:
        with self._lock:
            cursor, reorgs = mirror.cursor, mirror.meta("reorgs") or 0
            if cursor is None or cursor < self._last_block or reorgs != self._reorgs:
                self._start_over()
                self._reorgs = reorgs
            if cursor is None or not self.account:
                return self._flows
            if self._flows.member_id is None:
                self._flows.member_id = _member_id(mirror, self.account)
                if self._flows.member_id is None:
                    return self._flows  # not a member (yet): read again once the mirror has it
            mine = {"memberId": self._flows.member_id}  # filtered in SQL: a year holds 35,000 per member
            queries = [(COMMUNITY, name, None if name == "IntervalSettled" else mine) for name in _EVENTS]
            queries += [(EXCHANGE, "DeliveryRecorded", {side: self.account}) for side in ("consumer", "producer")]
            events = [
                e
                for contract, name, where in queries
                for e in mirror.events(event=name, contract=contract, since_block=self._last_block + 1, where=where)
                if e.block_number <= cursor  # later ones come with the next cursor
            ]
            events.sort(key=lambda e: (e.block_number, e.log_index))
            for event in events:
                self._apply(event)
            if events:
                self._flows.version = next(self._versions)
            self._last_block = cursor
            return self._flows

    def _apply(self, event) -> None:
        args = event.args
        if event.event == "IntervalSettled":
            self._sold(event)
        elif event.event == "DeliveryRecorded":
            self._delivered(event)
        elif event.event == "ReadingSubmitted":
            self._readings[args["interval"]] = (args["importWh"], args["exportWh"])
        elif event.event == "MemberProfileChanged":
            self._roles.append((event.block_number, event.log_index))
            self._producer.append(bool(args["producer"]))
        elif event.event == "MemberSettled":
            interval = args["interval"]
            # Import first: a page reading meanwhile takes an interval as settled once it has an allocation.
            self._flows.settled_import[interval] = self._readings.get(interval, (0, 0))[0]
            self._flows.allocated[interval] = args["allocatedWh"]

    def _delivered(self, event) -> None:
        """A peer deal's delivery to or from the member."""
        args = event.args
        flows = self._flows.dealt_import if args["consumer"].lower() == self.account.lower() else self._flows.dealt_export
        flows[args["interval"]] = flows.get(args["interval"], 0) + args["wh"]

    def _sold(self, event) -> None:
        """Its share of the interval's allocation: ceil(allocated × supply / production), as
        Community._book takes it, counted only while the member was a producer. Its supply is its
        export less what it delivered under peer deals, all known by now: EnergyExchange meters an
        interval only before it is settled."""
        interval, production = event.args["interval"], event.args["productionWh"]
        supply = self._readings.get(interval, (0, 0))[1] - self._flows.dealt_export.get(interval, 0)
        if not production or supply <= 0 or not self._was_producer(event):
            return
        self._flows.sold[interval] = -(-event.args["allocatedWh"] * supply // production)

    def _was_producer(self, event) -> bool:
        at = bisect.bisect_left(self._roles, (event.block_number, event.log_index))
        return at > 0 and self._producer[at - 1]


def _member_id(mirror: MirrorDB, account: str) -> int | None:
    """The member id the Community gave `account` (kept for life, also when re-added)."""
    added = mirror.events(event="MemberAdded", contract=COMMUNITY, where={"account": account}, limit=1)
    return added[0].args["memberId"] if added else None


def member_flows(app, account: str) -> MemberFlows:
    """The app's one follower of `account`'s settlements (made on first use)."""
    flows = app.extensions.get("gridcommons.member_flows")
    if flows is None:
        flows = app.extensions.setdefault("gridcommons.member_flows", MemberFlows(account))
    return flows
