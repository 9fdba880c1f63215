"""Settled community intervals read from the event mirror: each member's bill and the community's totals.

Everything here is derived from Community events (MemberAdded, MemberProfileChanged,
MemberRemoved, LocalPriceChanged, AllocationKeyChanged, SharesChanged, ShareScheduleChanged,
ReadingSubmitted, MemberSettled, IntervalSettled) and EnergyExchange's DeliveryRecorded, with the arithmetic of node.settlement, so
the bill is what the chain booked. Peer deals are metered before the interval is settled: a
member's import is what deals delivered to it, plus the community key's allocation, plus the grid;
its export is what it delivered under deals, plus what the community took, plus surplus.
A day's figures are built once and kept while the mirror's events for that day stay the same.
"""

from __future__ import annotations

import statistics
import threading
from bisect import bisect_left
from collections import OrderedDict
from dataclasses import dataclass, field, fields

from node.allocation import AllocationKey, schedule_slot
from node.mirror.db import MirrorDB
from node.settlement import MemberInterval, settle_interval, producer_earnings, taken_wh

from dapp.periods import Day
from dapp.pseudonyms import pseudonyms

COMMUNITY = "Community"
EXCHANGE = "EnergyExchange"
WH_PER_KWH = 1000
# Distributions (median, quartiles, rank) are shown only when at least this many OTHER members
# have readings, so that no single household's consumption can be read off them (k-anonymity).
K_ANONYMITY = 3
# What-ifs assume every consumer had prepaid enough: prepaid balances are not in the mirror, and
# the allocation itself never depends on them (only who pays how much of it).
UNLIMITED_BALANCE = 2**96
CACHED_RANGES = 600  # days and months of built figures kept in memory (a year of days is 365)

Position = tuple[int, int]  # (block number, log index): the order events happened in


@dataclass(frozen=True, slots=True)
class Profile:
    """A member's roles and key parameters, as MemberProfileChanged states them."""

    producer: bool = False
    consumer: bool = False
    coefficient_ppm: int = 0
    priority: int = 0

    @property
    def role(self) -> str:
        if self.producer and self.consumer:
            return "prosumer"
        return "producer" if self.producer else "consumer" if self.consumer else "no role"


@dataclass(frozen=True, slots=True)
class KeyChange:
    """An AllocationKeyChanged event: `key` settles `from_interval` and every later interval."""

    position: Position
    key: AllocationKey
    from_interval: int


@dataclass(frozen=True)
class Member:
    """A member as the DApp shows it: by pseudonym, never by address."""

    member_id: int
    pseudonym: str
    active: bool
    profile: Profile


class _Timeline:
    """Values set by events, looked up as they stood at a position on the chain."""

    def __init__(self):
        self.positions: list[Position] = []
        self.values: list = []

    def add(self, position: Position, value) -> None:
        self.positions.append(position)
        self.values.append(value)

    def at(self, position: Position, default=None):
        """The last value set strictly before `position`."""
        index = bisect_left(self.positions, position)
        return self.values[index - 1] if index else default

    @property
    def latest(self):
        return self.values[-1] if self.values else None


class CommunityHistory:
    """Membership, profiles, key and price over time, from the mirror's few parameter events."""

    def __init__(self, mirror: MirrorDB):
        self.accounts: dict[int, str] = {}
        self.ids: dict[str, int] = {}  # lower-case account -> member id (kept for life, also when re-added)
        self.active: dict[int, bool] = {}
        self.membership: dict[str, bool] = {}  # account -> a member now, in joining order
        self.profiles: dict[int, _Timeline] = {}
        self.prices = _Timeline()
        self.key_changes: list[KeyChange] = []
        self.shares: dict[tuple[int, int], _Timeline] = {}  # (share set, member id) -> ppm over time
        self.schedules = _Timeline()  # the SCHEDULED key's 192 slots over time
        # A removed member can be added again: the later of its MemberAdded and MemberRemoved counts.
        changes = sorted(
            [(_position(e), e.args, True) for e in mirror.events("MemberAdded", COMMUNITY)]
            + [(_position(e), e.args, False) for e in mirror.events("MemberRemoved", COMMUNITY)],
            key=lambda change: change[0],
        )
        for _, args, added in changes:
            self.accounts[args["memberId"]] = args["account"]
            self.ids[args["account"].lower()] = args["memberId"]
            self.active[args["memberId"]] = added
            self.membership[args["account"]] = added
        for event in mirror.events("MemberProfileChanged", COMMUNITY):
            a = event.args
            self.profiles.setdefault(a["memberId"], _Timeline()).add(
                _position(event), Profile(a["producer"], a["consumer"], a["coefficientPpm"], a["priority"]))
        for event in mirror.events("LocalPriceChanged", COMMUNITY):
            self.prices.add(_position(event), event.args["pricePerKWh"])
        for event in mirror.events("AllocationKeyChanged", COMMUNITY):
            self.key_changes.append(KeyChange(_position(event), AllocationKey(event.args["key"]),
                                              event.args.get("fromInterval", 0)))
        for event in mirror.events("SharesChanged", COMMUNITY):
            a = event.args
            self.shares.setdefault((a["shareSet"], a["memberId"]), _Timeline()).add(_position(event), a["sharePpm"])
        for event in mirror.events("ShareScheduleChanged", COMMUNITY):
            self.schedules.add(_position(event), bytes.fromhex(event.args["slots"].removeprefix("0x")))
        self.names = pseudonyms(list(self.accounts.values()))

    def member_id_of(self, account: str | None) -> int | None:
        return self.ids.get(account.lower()) if account else None

    def members(self) -> list[Member]:
        return [
            Member(m, self.names[a], self.active.get(m, False), self.profile_at(m, None))
            for m, a in sorted(self.accounts.items())
        ]

    def pseudonym(self, member_id: int) -> str:
        account = self.accounts.get(member_id)
        return self.names[account] if account else f"member {member_id} (not yet mirrored)"

    def profile_at(self, member_id: int, position: Position | None) -> Profile:
        timeline = self.profiles.get(member_id)
        if timeline is None:
            return Profile()
        return timeline.latest if position is None else timeline.at(position, Profile())

    @property
    def price(self) -> int | None:
        return self.prices.latest

    @property
    def key(self) -> AllocationKey | None:
        """The latest key chosen (it may apply from a later interval: see `key_at`)."""
        return self.key_changes[-1].key if self.key_changes else None

    def key_at(self, interval: int) -> AllocationKey | None:
        """The key that settles `interval`: the latest change made from it or an earlier interval."""
        for change in reversed(self.key_changes):
            if change.from_interval <= interval:
                return change.key
        return None

    def upcoming_key(self, interval: int) -> KeyChange | None:
        """The latest key change, if it applies only from a later interval than `interval`."""
        latest = self.key_changes[-1] if self.key_changes else None
        return latest if latest and latest.from_interval > interval else None

    def shares_at(self, interval: int, length: int, position: Position, members) -> dict[int, int]:
        """The SCHEDULED key's share of each member for `interval`, as they stood at `position`."""
        schedule = self.schedules.at(position)
        share_set = schedule[schedule_slot(interval * length)] if schedule else 0
        return {m: self.shares[(share_set, m)].at(position, 0) if (share_set, m) in self.shares else 0
                for m in members}


@dataclass(frozen=True, slots=True)
class Delivery:
    """What one peer deal metered in one interval, as DeliveryRecorded states it."""

    offer_id: int
    producer_id: int | None  # None: an account the mirror has no MemberAdded for
    consumer_id: int | None
    wh: int
    tokens: int  # credits released to the producer: what the consumer paid through the deal for these Wh


@dataclass(frozen=True)
class SettledInterval:
    """One settled interval with every member's reading and booking, and the parameters in force."""

    interval: int
    position: Position
    production_wh: int
    allocated_wh: int
    paid: int
    unpaid: int
    key: AllocationKey
    price: int | None  # None only if the mirror lacks the price events (the constructor emits one)
    readings: dict[int, tuple[int, int]]  # member id -> (import Wh, export Wh)
    booked: dict[int, tuple[int, int]]  # member id -> (allocated Wh, token delta)
    profiles: dict[int, Profile]  # of the members with readings, as settlement read them
    deliveries: tuple[Delivery, ...] = ()  # peer deals metered in the interval, in chain order
    shares: dict[int, int] = field(default_factory=dict)  # SCHEDULED: member id -> its share in the interval's set

    def members(self) -> list[MemberInterval]:
        return [
            MemberInterval(m, imported, exported, self.profiles[m].producer, self.profiles[m].consumer,
                           self.profiles[m].coefficient_ppm, self.profiles[m].priority, UNLIMITED_BALANCE,
                           dealt_import_wh=self.dealt_import(m), dealt_export_wh=self.dealt_export(m),
                           share_ppm=self.shares.get(m, 0))
            for m, (imported, exported) in sorted(self.readings.items())
        ]

    def bought(self, member_id: int | None) -> tuple[Delivery, ...]:
        """The deliveries peer deals made to the member."""
        return tuple(d for d in self.deliveries if d.consumer_id == member_id)

    def sold(self, member_id: int | None) -> tuple[Delivery, ...]:
        """The deliveries the member made under peer deals."""
        return tuple(d for d in self.deliveries if d.producer_id == member_id)

    def dealt_import(self, member_id: int) -> int:
        """Wh of the member's import that peer deals delivered (and the community key does not share)."""
        return sum(d.wh for d in self.bought(member_id))

    def dealt_export(self, member_id: int) -> int:
        """Wh of the member's export it delivered under peer deals (not offered to the community)."""
        return sum(d.wh for d in self.sold(member_id))

    def demand(self, member_id: int) -> int:
        """The member's import the community key shares to: consumers only, less what deals delivered."""
        if not self.profiles[member_id].consumer:
            return 0
        return self.readings[member_id][0] - self.dealt_import(member_id)

    def supply(self, member_id: int) -> int:
        """The member's export counted as production: producers only, less what they delivered under deals."""
        if not self.profiles[member_id].producer:
            return 0
        return self.readings[member_id][1] - self.dealt_export(member_id)

    def earnings(self) -> dict[int, int]:
        """Credits each member received: the interval's payments split over supply, as Community._book does."""
        ids = sorted(self.readings)
        return dict(zip(ids, producer_earnings(self.paid, [self.supply(m) for m in ids])))

    def reference(self, key: AllocationKey | None = None):
        """node.settlement's outcome under `key` (default: the key in force), every balance sufficient."""
        return settle_interval(key if key is not None else self.key, self.price or 0, self.members())

    def mismatches(self, outcome=None) -> list[str]:
        """Where the chain's booking differs from the Python reference (`outcome` if already
        computed under the key in force); empty when they agree."""
        outcome = outcome or self.reference()
        problems = []
        if outcome.production_wh != self.production_wh:
            problems.append(f"production: reference {outcome.production_wh} Wh, chain {self.production_wh} Wh"
                            + self._shared_again(outcome.production_wh))
        if outcome.allocated_wh != self.allocated_wh:
            problems.append(f"allocated in all: reference {outcome.allocated_wh} Wh, chain {self.allocated_wh} Wh")
        for member in outcome.members:
            booked = self.booked.get(member.member_id)
            if booked is None:
                problems.append(f"member {member.member_id}: reading but no MemberSettled event")
            elif booked[0] != member.allocated_wh:
                problems.append(f"member {member.member_id}: reference {member.allocated_wh} Wh, chain {booked[0]} Wh")
            elif self.unpaid == 0 and self.price is not None and booked[1] != member.token_delta:
                problems.append(f"member {member.member_id}: reference {member.token_delta} token units, chain {booked[1]}")
        return problems

    def _shared_again(self, reference_production_wh: int) -> str:
        """A hint when the chain's production is the reference's plus what producers sold under deals:
        the deals' energy was shared (and paid for) a second time."""
        dealt = sum(self.dealt_export(m) for m in self.readings if self.profiles[m].producer)
        if dealt and self.production_wh - reference_production_wh == dealt:
            return f" (the {dealt} Wh delivered under peer deals were shared again)"
        return ""


class _Nets:
    """The balances of a bill line or of a sum of them, from its paid, received, deals_paid and deals_received."""

    __slots__ = ()

    @property
    def net(self) -> int:
        """Credits the community's settlement moved: received − paid."""
        return self.received - self.paid

    @property
    def deals_net(self) -> int:
        return self.deals_received - self.deals_paid

    @property
    def total_net(self) -> int:
        """Every credit the energy moved, community and deals."""
        return self.net + self.deals_net


@dataclass(frozen=True, slots=True)
class BillLine(_Nets):
    """One member's settled interval: where its energy came from and went, and the credits that moved.

    import = from deals + from the community + from the grid; export = to deals + to the community +
    to the grid. `paid`, `received` and `net` are the community's settlement (MemberSettled); what moved
    through peer deals is `deals_paid` and `deals_received`."""

    interval: int
    start: int  # unix seconds
    reported: bool  # False: no reading on chain, the interval counted it as zero
    import_wh: int
    export_wh: int
    from_community_wh: int
    from_grid_wh: int
    to_community_wh: int
    to_grid_wh: int
    paid: int
    received: int
    owed: int | None  # allocated but not prepaid (None when the price is unknown)
    price: int | None
    key: AllocationKey
    from_deals_wh: int = 0  # delivered to this member under its peer deals
    deals_paid: int = 0  # credits its deals released to their producers for those Wh
    to_deals_wh: int = 0  # delivered by this member under its peer deals
    deals_received: int = 0  # credits its deals released to it for those Wh


def bill_line(settled: SettledInterval, member_id: int, length: int) -> BillLine:
    start = settled.interval * length
    if member_id not in settled.readings:
        return BillLine(settled.interval, start, False, 0, 0, 0, 0, 0, 0, 0, 0, 0, settled.price, settled.key)
    imported, exported = settled.readings[member_id]
    bought, sold = settled.bought(member_id), settled.sold(member_id)
    from_deals, to_deals = sum(d.wh for d in bought), sum(d.wh for d in sold)
    allocated, delta = settled.booked.get(member_id, (0, 0))
    supply = settled.supply(member_id)
    to_community = taken_wh(settled.allocated_wh, supply, settled.production_wh)
    received = settled.earnings()[member_id] if supply else 0
    paid = received - delta
    owed = 0 if settled.unpaid == 0 else None if settled.price is None else allocated * settled.price // WH_PER_KWH - paid
    return BillLine(
        settled.interval, start, True, imported, exported,
        from_community_wh=allocated, from_grid_wh=imported - from_deals - allocated,
        to_community_wh=to_community, to_grid_wh=exported - to_deals - to_community,
        paid=paid, received=received, owed=owed, price=settled.price, key=settled.key,
        from_deals_wh=from_deals, deals_paid=sum(d.tokens for d in bought),
        to_deals_wh=to_deals, deals_received=sum(d.tokens for d in sold),
    )


@dataclass(frozen=True, slots=True)
class CommunityLine:
    """The community's totals in one settled interval, and where this node stands among the others."""

    interval: int
    start: int
    production_wh: int
    shared_wh: int
    import_wh: int
    export_wh: int
    reporting: int  # members with a reading
    my_import_wh: int | None
    others_quartiles: tuple[float, float, float] | None  # others' import: Q1, median, Q3 (k-anonymous)


def community_line(settled: SettledInterval, member_id: int | None, length: int) -> CommunityLine:
    others = [imported for m, (imported, _) in settled.readings.items() if m != member_id]
    mine = settled.readings.get(member_id)
    return CommunityLine(
        settled.interval, settled.interval * length, settled.production_wh, settled.allocated_wh,
        sum(r[0] for r in settled.readings.values()), sum(r[1] for r in settled.readings.values()),
        len(settled.readings), mine[0] if mine else None, quartiles(others),
    )


def quartiles(values: list[int]) -> tuple[float, float, float] | None:
    if len(values) < K_ANONYMITY:
        return None
    q1, median, q3 = statistics.quantiles(values, n=4, method="inclusive")
    return q1, median, q3


@dataclass(frozen=True)
class Totals(_Nets):
    """Sums of a member's bill lines (a day, a month)."""

    intervals: int = 0
    import_wh: int = 0
    export_wh: int = 0
    from_community_wh: int = 0
    from_grid_wh: int = 0
    to_community_wh: int = 0
    to_grid_wh: int = 0
    paid: int = 0
    received: int = 0
    owed: int = 0
    from_deals_wh: int = 0
    deals_paid: int = 0
    to_deals_wh: int = 0
    deals_received: int = 0

    @classmethod
    def of(cls, lines) -> "Totals":
        return cls(len(lines), *(sum(getattr(line, f.name) or 0 for line in lines) for f in fields(cls)[1:]))

    def __add__(self, other: "Totals") -> "Totals":
        return Totals(*(getattr(self, f.name) + getattr(other, f.name) for f in fields(self)))


@dataclass(frozen=True)
class WhatIf:
    """A member's share of some intervals under one key, every balance sufficient."""

    allocated_wh: int = 0
    paid: int = 0
    received: int = 0

    def __add__(self, other: "WhatIf") -> "WhatIf":
        return WhatIf(self.allocated_wh + other.allocated_wh, self.paid + other.paid, self.received + other.received)

    @property
    def net(self) -> int:
        return self.received - self.paid


@dataclass(frozen=True)
class DayBook:
    """A local day's settled intervals: this member's bill, the community's totals, the what-ifs."""

    day: Day
    lines: tuple[BillLine, ...]
    community: tuple[CommunityLine, ...]
    member_import_wh: dict[int, int]  # per member over the day, for the month's rank
    what_if: dict[AllocationKey, WhatIf] | None  # None when the price is unknown
    mismatches: tuple[int, ...]  # intervals whose booking differs from the Python reference
    pending: int  # intervals with readings that are not settled yet
    totals: Totals = field(init=False)

    def __post_init__(self):
        object.__setattr__(self, "totals", Totals.of(self.lines))


def load_readings(mirror: MirrorDB, first: int, last: int) -> dict[int, dict[int, tuple[int, int]]]:
    """interval -> member id -> (import Wh, export Wh), settled or not."""
    readings: dict[int, dict[int, tuple[int, int]]] = {}
    for event in mirror.interval_events("ReadingSubmitted", first, last):
        a = event.args
        readings.setdefault(a["interval"], {})[a["memberId"]] = (a["importWh"], a["exportWh"])
    return readings


def load_deliveries(mirror: MirrorDB, history: CommunityHistory, first: int,
                    last: int) -> dict[int, tuple[Delivery, ...]]:
    """interval -> what peer deals metered in it, in chain order."""
    deliveries: dict[int, list[Delivery]] = {}
    for event in mirror.interval_events("DeliveryRecorded", first, last):
        if event.contract != EXCHANGE:
            continue
        a = event.args
        producer, consumer = history.member_id_of(a["producer"]), history.member_id_of(a["consumer"])
        deliveries.setdefault(a["interval"], []).append(Delivery(a["offerId"], producer, consumer, a["wh"], a["tokens"]))
    return {interval: tuple(made) for interval, made in deliveries.items()}


def offer_prices(mirror: MirrorDB, offer_ids) -> dict[int, int]:
    """offer id -> its price in token units per kWh, as OfferPosted states it (one indexed query each:
    the "why?" page asks for the few deals of one household in one interval)."""
    prices = {}
    for offer_id in set(offer_ids):
        posted = mirror.events("OfferPosted", EXCHANGE, where={"offerId": offer_id}, limit=1)
        if posted:
            prices[offer_id] = posted[0].args["pricePerKWh"]
    return prices


def load_settled(mirror: MirrorDB, history: CommunityHistory, first: int, last: int, length: int,
                 readings: dict[int, dict[int, tuple[int, int]]] | None = None) -> list[SettledInterval]:
    """The settled intervals in [first, last] of `length` seconds each, oldest first."""
    if readings is None:
        readings = load_readings(mirror, first, last)
    deliveries = load_deliveries(mirror, history, first, last)
    booked: dict[int, dict[int, tuple[int, int]]] = {}
    for event in mirror.interval_events("MemberSettled", first, last):
        a = event.args
        booked.setdefault(a["interval"], {})[a["memberId"]] = (a["allocatedWh"], a["tokenDelta"])
    settled = []
    for event in mirror.interval_events("IntervalSettled", first, last):
        a, position = event.args, _position(event)
        interval = a["interval"]
        members = readings.get(interval, {})
        settled.append(SettledInterval(
            interval, position, a["productionWh"], a["allocatedWh"], a["paid"], a["unpaid"], AllocationKey(a["key"]),
            history.prices.at(position), members, booked.get(interval, {}),
            {m: history.profile_at(m, position) for m in members}, deliveries.get(interval, ()),
            history.shares_at(interval, length, position, members) if history.schedules.values else {},
        ))
    return sorted(settled, key=lambda s: s.interval)


def build_day(mirror: MirrorDB, history: CommunityHistory, member_id: int | None, day: Day, length: int) -> DayBook:
    readings = load_readings(mirror, day.first, day.last)
    settled = load_settled(mirror, history, day.first, day.last, length, readings)
    member_import: dict[int, int] = {}
    what_if = None if any(s.price is None for s in settled) else {key: WhatIf() for key in AllocationKey}
    mismatches = []
    for s in settled:
        for m, (imported, _) in s.readings.items():
            member_import[m] = member_import.get(m, 0) + imported
        outcomes = {key: s.reference(key) for key in AllocationKey} if member_id in s.readings else {}
        if s.mismatches(outcomes.get(s.key)):
            mismatches.append(s.interval)
        if what_if is not None:
            for key, outcome in outcomes.items():
                mine = next(o for o in outcome.members if o.member_id == member_id)
                what_if[key] += WhatIf(mine.allocated_wh, mine.paid, mine.earned)
    return DayBook(
        day,
        tuple(bill_line(s, member_id, length) for s in settled) if member_id else (),
        tuple(community_line(s, member_id, length) for s in settled),
        member_import, what_if, tuple(mismatches), len(readings.keys() - {s.interval for s in settled}),
    )


class _Books:
    """Built day books, kept while the mirror's events for their intervals stay the same."""

    def __init__(self, size: int):
        self.size = size
        self.entries: OrderedDict = OrderedDict()
        self.lock = threading.Lock()
        self._building: dict = {}  # key -> lock held while one request builds it

    def building(self, key) -> threading.Lock:
        """One build per key at a time: twenty browsers opening a new month wait for one build."""
        with self.lock:
            return self._building.setdefault(key, threading.Lock())

    def built(self, key) -> None:
        """Those already waiting find the book cached; later ones need no lock."""
        with self.lock:
            self._building.pop(key, None)

    def get(self, key, stamp):
        with self.lock:
            entry = self.entries.get(key)
            if entry is None or entry[0] != stamp:
                return None
            self.entries.move_to_end(key)
            return entry[1]

    def put(self, key, stamp, value) -> None:
        with self.lock:
            self.entries[key] = (stamp, value)
            self.entries.move_to_end(key)
            while len(self.entries) > self.size:
                self.entries.popitem(last=False)


_books = _Books(CACHED_RANGES)


def _stamp(mirror: MirrorDB, first: int, last: int) -> tuple:
    """Changes whenever the events of [first, last] may have: a settlement, a reading, a reorganisation.
    Deals' deliveries need no count of their own: EnergyExchange meters an interval only before it is
    settled, so they are mirrored before its IntervalSettled (the mirror follows blocks in order)."""
    return (mirror.meta("reorgs"), mirror.interval_event_count("IntervalSettled", first, last),
            mirror.interval_event_count("ReadingSubmitted", first, last))


def for_intervals(mirror: MirrorDB, what: tuple, first: int, last: int, build):
    """`build()`'s result for intervals [first, last], built again only once their events changed
    (three indexed counts); `what` names the result and everything else it depends on."""
    key = (str(mirror.path), first, last) + what
    stamp = _stamp(mirror, first, last)
    value = _books.get(key, stamp)
    if value is None:
        with _books.building(key):
            value = _books.get(key, stamp)
            if value is None:
                value = build()
                _books.put(key, stamp, value)
            _books.built(key)
    return value


def day_books(mirror: MirrorDB, history: CommunityHistory, member_id: int | None, days: list[Day],
              length: int) -> list[DayBook]:
    """The day books of consecutive days; a whole range unchanged since last time costs three counts."""
    def day_book(day: Day) -> DayBook:
        return for_intervals(mirror, ("day", member_id, length), day.first, day.last,
                             lambda: build_day(mirror, history, member_id, day, length))

    return for_intervals(mirror, ("days", member_id, length), days[0].first, days[-1].last,
                         lambda: [day_book(day) for day in days])


def rank_share(member_import_wh: dict[int, int], member_id: int | None) -> float | None:
    """The share of the other members who imported less than this member (None below K_ANONYMITY)."""
    if member_id not in member_import_wh:
        return None
    mine = member_import_wh[member_id]
    others = [wh for m, wh in member_import_wh.items() if m != member_id]
    if len(others) < K_ANONYMITY:
        return None
    return sum(wh < mine for wh in others) / len(others)


def _position(event) -> Position:
    return event.block_number, event.log_index
