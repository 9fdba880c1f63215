"""Fabricated meter readings and Community events for the Now and History tests, written with the
node's real MeterStore and MirrorDB."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from dappkit import ADDRESS

from node.mirror.db import MirrorDB, MirroredEvent
from node.store.samples import Sample
from node.store.store import MeterStore, StoreSettings

ZONE = ZoneInfo("Europe/Amsterdam")
INTERVAL = 900
ME, NEIGHBOUR = 2, 3
NEIGHBOUR_ADDRESS = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"


def local(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> int:
    """Unix time of a wall-clock time in Amsterdam."""
    return int(datetime(year, month, day, hour, minute, tzinfo=ZONE).timestamp())


def write_meter(node_config, clock, first: int, last: int, import_w, export_w, skip=range(0),
                origin: int | None = None) -> None:
    """Readings every 10 s from `first` to `last` inclusive (except times in `skip`); `import_w(ts)` and
    `export_w(ts)` give the power after ts, and the registers count exactly that energy since `origin`
    (default `first`: a later call with the same origin continues the registers)."""
    imported = exported = 0  # in Wh·s/3600: kept exact, floored to Wh as a meter does
    with MeterStore(node_config.store_path, StoreSettings(max_clock_skew=None), clock=clock, local=ZONE) as store:
        for ts in range(first if origin is None else origin, last + 1, 10):
            if ts >= first and ts not in skip:
                store.add_sample(Sample(ts, "E0001", 1_000_000 + imported // 3600, 500_000 + exported // 3600,
                                        import_w(ts), export_w(ts)))
            imported += import_w(ts) * 10
            exported += export_w(ts) * 10


class Events:
    """Community events in block order, one block per `block()` call."""

    def __init__(self):
        self.events: list[MirroredEvent] = []
        self.number = 0
        self.index = 0

    def block(self) -> "Events":
        self.number += 1
        self.index = 0
        return self

    def emit(self, name: str, contract: str = "Community", **args) -> "Events":
        self.events.append(MirroredEvent(self.number, self.index, f"0x{self.number:064x}", 1_700_000_000 + self.number,
                                         f"0x{self.number:062x}{self.index:02x}", contract, name, args))
        self.index += 1
        return self

    def member(self, member_id: int, account: str, producer: bool = True) -> "Events":
        self.emit("MemberAdded", memberId=member_id, account=account, meterIdHash="0x" + "11" * 32)
        return self.profile(member_id, producer)

    def profile(self, member_id: int, producer: bool) -> "Events":
        return self.emit("MemberProfileChanged", memberId=member_id, producer=producer, consumer=True,
                         coefficientPpm=0, priority=0)

    def reading(self, interval: int, member_id: int, import_wh: int, export_wh: int) -> "Events":
        return self.emit("ReadingSubmitted", interval=interval, memberId=member_id, importWh=import_wh,
                         exportWh=export_wh)

    def delivered(self, interval: int, producer: str, consumer: str, wh: int, offer_id: int = 1) -> "Events":
        """EnergyExchange metering `wh` of a deal in `interval` (before the interval is settled)."""
        return self.emit("DeliveryRecorded", contract="EnergyExchange", offerId=offer_id, producer=producer,
                         consumer=consumer, interval=interval, wh=wh, tokens=0)

    def settled(self, interval: int, allocations: dict[int, int], production_wh: int) -> "Events":
        """One settlement, as Community.settle logs it: each member, then the interval."""
        self.block()
        for member_id, allocated in allocations.items():
            self.emit("MemberSettled", interval=interval, memberId=member_id, allocatedWh=allocated, tokenDelta=0)
        return self.emit("IntervalSettled", interval=interval, productionWh=production_wh,
                         allocatedWh=sum(allocations.values()), paid=0, unpaid=0, key=0)

    def write(self, node_config) -> None:
        mirror = MirrorDB(node_config.mirror_path)
        mirror.append(self.events, {}, self.number, 64)
        mirror.close()


def community(events: Events | None = None) -> Events:
    """This node (member 2, a producer) and a neighbour (member 3) admitted in block 1."""
    events = events or Events()
    return events.block().member(ME, ADDRESS).member(NEIGHBOUR, NEIGHBOUR_ADDRESS)
