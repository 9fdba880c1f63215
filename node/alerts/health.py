"""The node's own health as alerts: a silent meter, a stalled or unreachable chain, a mirror falling
behind and a growing outbox, judged on a snapshot of what the node's files and chain client say.

Every limit is in node time and, where the chain is concerned, in settlement intervals: nodes submit
a reading every interval, so a live community's chain makes a block at least that often.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

from node.alerts.alert import (BEYOND_LIMITS, CHAIN_STALLED, CHAIN_UNREACHABLE, CRITICAL, MIRROR_BEHIND,
                               OUTBOX_GROWING, SILENT_METER, WARNING, Alert, Verdict)
from node.alerts.wording import duration


@dataclass(frozen=True)
class ChainSeen:
    """The chain as the DApp reached it: its head, and the block the event mirror has reached."""

    reachable: bool
    error: str | None = None
    head: int | None = None
    head_time: float | None = None
    mirror_block: int | None = None
    mirror_time: float | None = None  # the block time of `mirror_block`


@dataclass(frozen=True)
class OutboxSeen:
    """The intervals waiting to be submitted: how many, the oldest's number and why it waits; and the
    latest interval held back as beyond the household's limits (its number, why, when)."""

    waiting: int
    oldest: int | None
    note: str | None = None
    refused: tuple[int, str, float] | None = None


@dataclass(frozen=True)
class NodeSnapshot:
    """What the node's files and chain client say at `now` (node time)."""

    now: float
    interval: int  # the settlement interval in seconds
    last_reading: float | None  # the newest stored reading's time
    node_running: bool | None  # None: the node never wrote its status
    chain: ChainSeen
    outbox: OutboxSeen | None
    time_factor: float = 1.0  # node time runs this many times faster than the wall clock (demos)
    part_errors: Mapping[str, str] = field(default_factory=dict)  # the parts' last errors, by part


@dataclass(frozen=True)
class HealthSettings:
    silent_after: float = 300.0  # node seconds without a stored reading
    silent_after_wall: float = 30.0  # and at least this many wall seconds (an accelerated demo's hiccup is no alert)
    stalled_after_intervals: float = 3.0  # no new block for this many intervals
    mirror_lag_intervals: float = 2.0  # the mirror this far behind the head
    outbox_after_intervals: float = 4.0  # the oldest waiting interval ended this long ago
    refused_for: float = 86_400.0  # node seconds a reading held back as beyond the limits stays an alert


def health_verdict(snapshot: NodeSnapshot, settings: HealthSettings = HealthSettings()) -> Verdict:
    """Every health alert the snapshot calls for."""
    found = (silent_meter(snapshot, settings), chain_trouble(snapshot, settings), growing_outbox(snapshot, settings),
             reading_beyond_limits(snapshot, settings))
    verdict = Verdict(tuple(alert for alert in found if alert is not None))
    if snapshot.last_reading is None:
        verdict += Verdict(not_judged=("Meter: no reading stored yet.",))
    return verdict


def silent_meter(snapshot: NodeSnapshot, settings: HealthSettings = HealthSettings()) -> Alert | None:
    """The newest stored reading is older than the limit (a meter never heard from is no alert yet)."""
    if snapshot.last_reading is None:
        return None
    limit = max(settings.silent_after, settings.silent_after_wall * snapshot.time_factor)
    silence = snapshot.now - snapshot.last_reading
    if silence <= limit:
        return None
    if snapshot.node_running is False:
        advice = "The node is not running: start it with gridcommons node run (or make demo)."
    else:
        advice = ("Check the cable to the meter's P1 port and meter.device in node.toml; the Node page shows "
                  "the meter part's last error and CRC rejects.")
    return Alert(SILENT_METER, CRITICAL, "Silent meter", seen=f"no reading stored for {duration(silence)}",
                 expected=f"a reading at least every {duration(limit)}", since=snapshot.last_reading, advice=advice,
                 help="no-telegrams")


def chain_trouble(snapshot: NodeSnapshot, settings: HealthSettings = HealthSettings()) -> Alert | None:
    """The chain unreachable, its head not advancing, or the mirror far behind it."""
    chain, interval = snapshot.chain, snapshot.interval
    if not chain.reachable:
        return Alert(CHAIN_UNREACHABLE, CRITICAL, "Chain unreachable", seen=chain.error or "the chain client does not answer",
                     expected="the chain client answers", since=None,
                     advice="Readings wait in the outbox until it is back. Check that the chain client (or the "
                            "embedded anvil) runs and that chain.rpc in node.toml points at it.",
                     help="chain-unreachable")
    if chain.head_time is not None:
        still = snapshot.now - chain.head_time
        if still > settings.stalled_after_intervals * interval:
            return Alert(CHAIN_STALLED, CRITICAL, "Chain stalled",
                         seen=f"no new block for {duration(still)} (head {chain.head})",
                         expected=f"a block at least every {duration(interval)}, with each interval's readings",
                         since=chain.head_time,
                         advice="The chain answers but makes no blocks: check that its validators (sealers) run "
                                "and see each other; on a PoA network more than half must be online.",
                         help="chain-unreachable")
    if chain.mirror_time is not None and chain.head_time is not None:
        lag = chain.head_time - chain.mirror_time
        if lag > settings.mirror_lag_intervals * interval:
            error = snapshot.part_errors.get("mirror")
            return Alert(MIRROR_BEHIND, WARNING, "Mirror behind",
                         seen=f"events mirrored up to block {chain.mirror_block}, {duration(lag)} behind the head "
                              f"(block {chain.head})" + (f"; the mirror part reports: {error}" if error else ""),
                         expected=f"within {duration(settings.mirror_lag_intervals * interval)} of the head",
                         since=chain.mirror_time,
                         advice="Pages show what was mirrored before. If it does not catch up, restart the node and "
                                "look at the mirror part on the Node page.")
    return None


def growing_outbox(snapshot: NodeSnapshot, settings: HealthSettings = HealthSettings()) -> Alert | None:
    """The oldest interval waiting to be submitted ended more than the limit ago."""
    outbox, interval = snapshot.outbox, snapshot.interval
    if outbox is None or outbox.oldest is None:
        return None
    ended = (outbox.oldest + 1) * interval
    waited = snapshot.now - ended
    if waited <= settings.outbox_after_intervals * interval:
        return None
    why = outbox.note or snapshot.part_errors.get("chain")
    return Alert(OUTBOX_GROWING, WARNING, "Outbox growing",
                 seen=f"{outbox.waiting} intervals waiting, the oldest for {duration(waited)}" + (f" ({why})" if why else ""),
                 expected=f"each interval submitted within {duration(interval)} of its end",
                 since=ended,
                 advice="Nothing is lost: the readings go on chain in order once the cause is gone. An unreachable "
                        "or stalled chain is the usual cause; otherwise see the chain part's error on the Node page.",
                 help="chain-unreachable")


def reading_beyond_limits(snapshot: NodeSnapshot, settings: HealthSettings = HealthSettings()) -> Alert | None:
    """An interval's reading was held back because the household cannot physically have moved it."""
    refused = snapshot.outbox.refused if snapshot.outbox is not None else None
    if refused is None or snapshot.now - refused[2] > settings.refused_for:
        return None
    interval, why, at = refused
    return Alert(BEYOND_LIMITS, CRITICAL, "Reading beyond this household's limits",
                 seen=f"interval {interval}: {why}",
                 expected="no more import than the grid connection carries, no more export than the panels make",
                 since=at,
                 advice="The reading was not submitted, so the community settled the interval as zero for this "
                        "household. Usually the meter is faulty or node.toml reads the wrong meter (standard, "
                        "device); if the installation grew, ask the admin to raise the limits "
                        "(`ape run community set-limits`).",
                 help="reading-beyond-limits")
