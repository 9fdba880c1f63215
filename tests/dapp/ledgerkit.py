"""Fabricated Community and EnergyExchange events for DApp tests: exactly what the chain would book,
computed with node.settlement, written into a real MirrorDB. Peer deals are metered before the
interval is settled, and the settlement shares only what they left (issue 13)."""

from __future__ import annotations

from pathlib import Path

from eth_utils import keccak

from node.allocation import SCHEDULE_SLOTS, AllocationKey, schedule_slot
from node.mirror.db import MirroredEvent, MirrorDB
from node.settlement import DealDelivery, IntervalOutcome, MemberInterval, book_deliveries, settle_interval

INTERVAL = 900
GRACE = 60
PRICE = 10**17  # 0.1 credits per kWh
PREPAID = 100 * 10**18
WH_PER_KWH = 1000


class Ledger:
    """A community's event log: one block per transaction, times following the intervals."""

    def __init__(self, price: int = PRICE, key: AllocationKey = AllocationKey.PRORATA, start_time: int = 0):
        self.events: list[MirroredEvent] = []
        self.block = 0
        self.time = start_time
        self.profiles: dict[int, dict] = {}
        self.balances: dict[int, int] = {}
        self.readings: dict[int, dict[int, tuple[int, int]]] = {}
        self.accounts: dict[int, str] = {}
        self.offers: dict[int, dict] = {}
        self.dealt: dict[int, dict[int, tuple[int, int]]] = {}  # interval -> member -> (import, export) Wh by deals
        self.price = price
        self.key_changes: list[tuple[int, AllocationKey]] = [(0, key)]  # (from interval, key), in the order set
        self.shares: dict[int, dict[int, int]] = {}  # share set -> member -> ppm
        self.schedule = bytes(SCHEDULE_SLOTS)
        self._emit(start_time, ("LocalPriceChanged", {"pricePerKWh": price}), ("GracePeriodChanged", {"gracePeriod": GRACE}),
                   ("AllocationKeyChanged", {"key": int(key), "fromInterval": 0}))

    def _emit(self, at: int, *events: tuple[str, dict], contract: str = "Community") -> None:
        """One transaction in a new block at `at` (or later, blocks never go back in time)."""
        self.block += 1
        self.time = max(self.time, at)
        block_hash = "0x" + keccak(self.block.to_bytes(8, "big")).hex()
        for log_index, (name, args) in enumerate(events):
            self.events.append(MirroredEvent(self.block, log_index, block_hash, self.time, block_hash, contract, name, args))

    def add_member(self, account: str, producer: bool, consumer: bool, coefficient_ppm: int = 0, priority: int = 0,
                   balance: int = PREPAID) -> int:
        member_id = len(self.profiles) + 1
        self.profiles[member_id] = dict(producer=producer, consumer=consumer, coefficient_ppm=coefficient_ppm, priority=priority)
        self.balances[member_id] = balance
        self.accounts[member_id] = account
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

    @property
    def key(self) -> AllocationKey:
        return self.key_changes[-1][1]

    def key_at(self, interval: int) -> AllocationKey:
        return next(key for start, key in reversed(self.key_changes) if start <= interval)

    def set_key(self, key: AllocationKey, from_interval: int = 0) -> None:
        self.key_changes.append((from_interval, key))
        self._emit(self.time, ("AllocationKeyChanged", {"key": int(key), "fromInterval": from_interval}))

    def set_shares(self, share_set: int, shares: dict[int, int]) -> None:
        self.shares.setdefault(share_set, {}).update(shares)
        self._emit(self.time, *[("SharesChanged", {"shareSet": share_set, "memberId": m, "sharePpm": ppm})
                                for m, ppm in shares.items()])

    def set_schedule(self, slots: bytes) -> None:
        self.schedule = slots
        self._emit(self.time, ("ShareScheduleChanged", {"slots": "0x" + slots.hex()}))

    def share_of(self, interval: int, member_id: int) -> int:
        return self.shares.get(self.schedule[schedule_slot(interval * INTERVAL)], {}).get(member_id, 0)

    def set_price(self, price: int) -> None:
        self.price = price
        self._emit(self.time, ("LocalPriceChanged", {"pricePerKWh": price}))

    def submit(self, interval: int, member_id: int, import_wh: int, export_wh: int) -> None:
        self.readings.setdefault(interval, {})[member_id] = (import_wh, export_wh)
        self._emit((interval + 1) * INTERVAL + 5,
                   ("ReadingSubmitted", {"interval": interval, "memberId": member_id, "importWh": import_wh, "exportWh": export_wh}))

    def deal(self, producer_id: int, consumer_id: int, wh: int, price_per_kwh: int, first: int, last: int) -> int:
        """An offer posted by the producer and accepted by the consumer (the escrow is not modelled); its id."""
        offer_id = len(self.offers) + 1
        self.offers[offer_id] = dict(producer=producer_id, consumer=consumer_id, wh=wh, price=price_per_kwh, delivered=0)
        producer, consumer = self.accounts[producer_id], self.accounts[consumer_id]
        self._emit(self.time, ("OfferPosted", {"offerId": offer_id, "producer": producer, "wh": wh,
                                               "pricePerKWh": price_per_kwh, "firstInterval": first,
                                               "lastInterval": last}), contract="EnergyExchange")
        self._emit(self.time, ("OfferAccepted", {"offerId": offer_id, "producer": producer, "consumer": consumer,
                                                 "cost": self._cost(offer_id)}), contract="EnergyExchange")
        return offer_id

    def deliver(self, interval: int, offer_id: int) -> tuple[int, int]:
        """EnergyExchange.recordDelivery for `interval` after both readings: (Wh metered, tokens released)."""
        offer = self.offers[offer_id]
        # What earlier deals of the interval booked is gone: first come, first served, as the contract meters.
        left = {m: (imported - self._dealt(interval, m)[0], exported - self._dealt(interval, m)[1])
                for m, (imported, exported) in self.readings.get(interval, {}).items()}
        due = DealDelivery(offer["producer"], offer["consumer"], offer["wh"] - offer["delivered"])
        wh, = book_deliveries(left, [due])
        tokens = self._released(offer_id, offer["delivered"] + wh) - self._released(offer_id, offer["delivered"])
        offer["delivered"] += wh
        self._add_dealt(interval, offer["consumer"], wh, 0)
        self._add_dealt(interval, offer["producer"], 0, wh)
        producer, consumer = self.accounts[offer["producer"]], self.accounts[offer["consumer"]]
        events = [("DeliveryRecorded", {"offerId": offer_id, "producer": producer, "consumer": consumer,
                                        "interval": interval, "wh": wh, "tokens": tokens})]
        if offer["delivered"] == offer["wh"]:
            events.append(("ExchangeCompleted", {"offerId": offer_id, "producer": producer, "consumer": consumer,
                                                 "wh": offer["wh"], "cost": self._cost(offer_id)}))
        self._emit((interval + 1) * INTERVAL + 10, *events, contract="EnergyExchange")
        return wh, tokens

    def _dealt(self, interval: int, member_id: int) -> tuple[int, int]:
        return self.dealt.get(interval, {}).get(member_id, (0, 0))

    def _add_dealt(self, interval: int, member_id: int, import_wh: int, export_wh: int) -> None:
        imported, exported = self._dealt(interval, member_id)
        self.dealt.setdefault(interval, {})[member_id] = (imported + import_wh, exported + export_wh)

    def _cost(self, offer_id: int) -> int:
        offer = self.offers[offer_id]
        return offer["wh"] * offer["price"] // WH_PER_KWH

    def _released(self, offer_id: int, delivered_wh: int) -> int:
        """What EnergyExchange has released of the escrow once `delivered_wh` are delivered: ⌊cost · d / wh⌋."""
        return self._cost(offer_id) * delivered_wh // self.offers[offer_id]["wh"]

    def member_intervals(self, interval: int, count_deals: bool = True,
                         balance: int | None = None) -> list[MemberInterval]:
        """The members with a reading as settlement sees them: deals subtracted unless `count_deals` is
        False (a Community that shares the dealt energy again), each balance as booked unless given."""
        members = []
        for m, (imported, exported) in self.readings.get(interval, {}).items():
            dealt_import, dealt_export = self._dealt(interval, m) if count_deals else (0, 0)
            members.append(MemberInterval(
                m, imported, exported, self.profiles[m]["producer"], self.profiles[m]["consumer"],
                self.profiles[m]["coefficient_ppm"], self.profiles[m]["priority"],
                self.balances[m] if balance is None else balance,
                dealt_import_wh=dealt_import, dealt_export_wh=dealt_export, share_ppm=self.share_of(interval, m)))
        return members

    def settle(self, interval: int, count_deals: bool = True) -> IntervalOutcome:
        key = self.key_at(interval)
        outcome = settle_interval(key, self.price, self.member_intervals(interval, count_deals))
        for member in outcome.members:
            self.balances[member.member_id] += member.token_delta
        self._emit((interval + 1) * INTERVAL + GRACE + 5,
                   *[("MemberSettled", {"interval": interval, "memberId": m.member_id, "allocatedWh": m.allocated_wh,
                                        "tokenDelta": m.token_delta}) for m in outcome.members],
                   ("IntervalSettled", {"interval": interval, "productionWh": outcome.production_wh,
                                        "allocatedWh": outcome.allocated_wh, "paid": outcome.paid,
                                        "unpaid": outcome.unpaid, "key": int(key)}))
        return outcome

    def interval(self, interval: int, readings: dict[int, tuple[int, int]],
                 deals: tuple[int, ...] = ()) -> IntervalOutcome:
        """Every member's reading for `interval`, the deliveries of `deals` (offer ids, in that order),
        then its settlement."""
        for member_id, (import_wh, export_wh) in readings.items():
            self.submit(interval, member_id, import_wh, export_wh)
        for offer_id in deals:
            self.deliver(interval, offer_id)
        return self.settle(interval)

    def write(self, path: Path) -> None:
        """Append the events not written yet to the mirror at `path`."""
        write_new_events(path, self.events, self.block)


def write_new_events(path: Path, events: list[MirroredEvent], block: int) -> None:
    """Append to the mirror at `path` the events of blocks after those it holds; it then stands at `block`."""
    db = MirrorDB(path)
    try:
        written = db.cursor or 0
        db.append([e for e in events if e.block_number > written], {}, block, 32)
    finally:
        db.close()
