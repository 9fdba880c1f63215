"""What the alert checks read: complete hours from the meter store, and a snapshot of the node's
status, outbox, event mirror and chain client. The only part of node.alerts that touches files or
the network; the checks themselves are pure."""

from __future__ import annotations

from datetime import datetime, timedelta

from node.alerts.anomaly import HourUse
from node.alerts.health import ChainSeen, NodeSnapshot, OutboxSeen

STATUS_FRESH = 10.0  # wall seconds: the running node rewrites status.json every 2 s


def hourly_use(store, now: float, days: int) -> list[HourUse]:
    """Energy imported in each complete local hour of today and the `days` days before, oldest first."""
    today = datetime.fromtimestamp(now, store.local).date()
    return [
        HourUse(bucket.start, bucket.import_wh)
        for offset in range(days, -1, -1)
        for bucket in store.aggregate("day", today - timedelta(days=offset)).buckets
        if bucket.complete_intervals == bucket.expected_intervals
    ]


def chain_seen(rpc: str, mirror_block: int | None, timeout: float = 2.0) -> ChainSeen:
    """The chain's head and the block time of the mirror's last block, asked of the chain client."""
    from web3.exceptions import Web3Exception

    from node.chain.client import connect
    from node.errors import ChainError

    try:
        w3 = connect(rpc, timeout=timeout)
        head = w3.eth.get_block("latest")
        mirrored = mirror_block is not None and mirror_block <= head["number"]
        mirror_time = w3.eth.get_block(mirror_block)["timestamp"] if mirrored else None
    except (ChainError, OSError, Web3Exception) as error:
        return ChainSeen(reachable=False, error=str(error)[:200])
    return ChainSeen(True, None, head["number"], head["timestamp"], mirror_block, mirror_time)


def outbox_seen(outbox) -> OutboxSeen:
    head, refused = outbox.head(), outbox.last_refused()
    return OutboxSeen(outbox.depth(), head.interval if head else None, head.note if head else None,
                      (refused.interval, refused.note, refused.done_at) if refused else None)


def node_snapshot(*, now: float, wall_now: float, interval: int, last_reading: float | None, status: dict | None,
                  chain: ChainSeen, outbox: OutboxSeen | None, time_factor: float = 1.0) -> NodeSnapshot:
    """The snapshot the health checks judge, from what was read; `status` as status.json holds it."""
    parts = (status or {}).get("parts") or {}
    return NodeSnapshot(
        now=now,
        interval=interval,
        last_reading=last_reading,
        node_running=None if status is None else wall_now - status.get("written_at", 0) < STATUS_FRESH,
        chain=chain,
        outbox=outbox,
        time_factor=time_factor,
        part_errors={name: part["last_error"] for name, part in parts.items() if part.get("last_error")},
    )
