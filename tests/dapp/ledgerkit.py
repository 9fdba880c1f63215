"""Fabricated Community events for DApp tests: exactly what the chain would book, computed with
node.settlement, written into a real MirrorDB."""

from __future__ import annotations

from pathlib import Path

from eth_utils import keccak

from node.allocation import AllocationKey
from node.mirror.db import MirroredEvent, MirrorDB
from node.settlement import IntervalOutcome, MemberInterval, settle_interval

INTERVAL = 900
GRACE = 60
PRICE = 10**17  # 0.1 credits per kWh
PREPAID = 100 * 10**18


class Ledger:
    """A community's event log: one block per transaction, times following the intervals."""

    def __init__(self, price: int = PRICE, key: AllocationKey = AllocationKey.PRORATA, start_time: int = 0):
        self.events: list[MirroredEvent] = []
        self.block = 0
        self.time = start_time
        self.profiles: dict[int, dict] = {}
        self.balances: dict[int, int] = {}
        self.readings: dict[int, dict[int, tuple[int, int]]] = {}
        self.price, self.key = price, key
        self._emit(start_time, ("LocalPriceChanged", {"pricePerKWh": price}), ("GracePeriodChanged", {"gracePeriod": GRACE}),
                   ("AllocationKeyChanged", {"key": int(key)}))

    def _emit(self, at: int, *events: tuple[str, dict]) -> None:
        """One transaction in a new block at `at` (or later, blocks never go back in time)."""
        self.block += 1
        self.time = max(self.time, at)
        block_hash = "0x" + keccak(self.block.to_bytes(8, "big")).hex()
        for log_index, (name, args) in enumerate(events):
            self.events.append(MirroredEvent(self.block, log_index, block_hash, self.time, block_hash, "Community", name, args))

    def add_member(self, account: str, producer: bool, consumer: bool, coefficient_ppm: int = 0, priority: int = 0,
                   balance: int = PREPAID) -> int:
        member_id = len(self.profiles) + 1
        self.profiles[member_id] = dict(producer=producer, consumer=consumer, coefficient_ppm=coefficient_ppm, priority=priority)
        self.balances[member_id] = balance
        self._emit(self.time, ("MemberAdded", {"memberId": member_id, "account": account, "meterIdHash": "0x" + keccak(text=account).hex()}),
                   self._profile_event(member_id))
        return member_id

    def set_profile(self, member_id: int, **profile) -> None:
        self.profiles[member_id].update(profile)
        self._emit(self.time, self._profile_event(member_id))

    def remove_member(self, member_id: int, account: str) -> None:
        self.profiles[member_id] = dict(producer=False, consumer=False, coefficient_ppm=0, priority=0)
        self._emit(self.time, self._profile_event(member_id), ("MemberRemoved", {"memberId": member_id, "account": account}))

    def _profile_event(self, member_id: int) -> tuple[str, dict]:
        p = self.profiles[member_id]
        return "MemberProfileChanged", {"memberId": member_id, "producer": p["producer"], "consumer": p["consumer"],
                                        "coefficientPpm": p["coefficient_ppm"], "priority": p["priority"]}

    def set_key(self, key: AllocationKey) -> None:
        self.key = key
        self._emit(self.time, ("AllocationKeyChanged", {"key": int(key)}))

    def set_price(self, price: int) -> None:
        self.price = price
        self._emit(self.time, ("LocalPriceChanged", {"pricePerKWh": price}))

    def submit(self, interval: int, member_id: int, import_wh: int, export_wh: int) -> None:
        self.readings.setdefault(interval, {})[member_id] = (import_wh, export_wh)
        self._emit((interval + 1) * INTERVAL + 5,
                   ("ReadingSubmitted", {"interval": interval, "memberId": member_id, "importWh": import_wh, "exportWh": export_wh}))

    def settle(self, interval: int) -> IntervalOutcome:
        readings = self.readings.get(interval, {})
        members = [
            MemberInterval(m, imported, exported, self.profiles[m]["producer"], self.profiles[m]["consumer"],
                           self.profiles[m]["coefficient_ppm"], self.profiles[m]["priority"], self.balances[m])
            for m, (imported, exported) in readings.items()
        ]
        outcome = settle_interval(self.key, self.price, members)
        for member in outcome.members:
            self.balances[member.member_id] += member.token_delta
        self._emit((interval + 1) * INTERVAL + GRACE + 5,
                   *[("MemberSettled", {"interval": interval, "memberId": m.member_id, "allocatedWh": m.allocated_wh,
                                        "tokenDelta": m.token_delta}) for m in outcome.members],
                   ("IntervalSettled", {"interval": interval, "productionWh": outcome.production_wh,
                                        "allocatedWh": outcome.allocated_wh, "paid": outcome.paid,
                                        "unpaid": outcome.unpaid, "key": int(self.key)}))
        return outcome

    def interval(self, interval: int, readings: dict[int, tuple[int, int]]) -> IntervalOutcome:
        """Every member's reading for `interval`, then its settlement."""
        for member_id, (import_wh, export_wh) in readings.items():
            self.submit(interval, member_id, import_wh, export_wh)
        return self.settle(interval)

    def write(self, path: Path) -> None:
        """Append the events not written yet to the mirror at `path`."""
        db = MirrorDB(path)
        try:
            written = db.cursor or 0
            db.append([e for e in self.events if e.block_number > written], {}, self.block, 32)
        finally:
            db.close()
