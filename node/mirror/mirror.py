"""Follows the community contracts' events into the local mirror, over bounded block ranges.

Clique can reorganise recent blocks. The mirror keeps the hashes of the last `reorg_window` blocks;
when the block under its cursor no longer has the hash it saw, it walks back to the newest block
that still matches, forgets everything after it and mirrors again from there.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from hexbytes import HexBytes
from web3 import Web3
from web3._utils.events import get_event_data
from web3.exceptions import MismatchedABI

from node.chain.contracts import CommunityContracts, canonical_type
from node.mirror.db import MirroredEvent, MirrorDB

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MirrorSettings:
    reorg_window: int = 32  # blocks whose hashes are kept to detect a reorganisation
    max_range: int = 2000  # blocks per eth_getLogs request


class EventMirror:
    """Mirrors every event of the deployment's contracts. Call `poll()` regularly."""

    def __init__(self, w3: Web3, contracts: CommunityContracts, db: MirrorDB, settings: MirrorSettings = MirrorSettings()):
        self.w3 = w3
        self.db = db
        self.settings = settings
        self.start_block = contracts.deployment.deploy_block
        self.addresses = [c.address for c in contracts.by_name.values()]
        self._names = {c.address: name for name, c in contracts.by_name.items()}
        self._events = {
            (c.address, HexBytes(Web3.keccak(text=_signature(abi)))): abi
            for c in contracts.by_name.values()
            for abi in c.abi
            if abi.get("type") == "event" and not abi.get("anonymous")
        }

    def poll(self) -> int:
        """Mirror up to the chain's head; returns how many events were added."""
        head = self.w3.eth.block_number
        cursor = self._check_for_reorg(self._cursor())
        added = 0
        while cursor < head:
            to = min(head, cursor + self.settings.max_range)
            added += self._mirror_range(cursor + 1, to, head)
            cursor = to
        return added

    def _cursor(self) -> int:
        cursor = self.db.cursor
        return self.start_block - 1 if cursor is None else cursor

    def _check_for_reorg(self, cursor: int) -> int:
        seen = self.db.block_hash(cursor)
        if seen is None or self._hash(cursor) == seen:
            return cursor
        oldest = max(self.start_block - 1, cursor - self.settings.reorg_window)
        ancestor = oldest
        for number in range(cursor - 1, oldest, -1):
            seen = self.db.block_hash(number)
            if seen is not None and self._hash(number) == seen:
                ancestor = number
                break
        dropped = self.db.rewind(ancestor)
        log.warning("chain reorganised below block %d: rescanning from %d (%d events dropped)", cursor, ancestor + 1, dropped)
        return ancestor

    def _mirror_range(self, first: int, last: int, head: int) -> int:
        logs = self.w3.eth.get_logs({"fromBlock": first, "toBlock": last, "address": self.addresses})
        # Hashes (and times) of the blocks with events and of the recent blocks, for reorg checks.
        wanted = {entry["blockNumber"] for entry in logs} | set(range(max(first, head - self.settings.reorg_window + 1), last + 1))
        blocks = {number: self.w3.eth.get_block(number) for number in sorted(wanted)}
        events = []
        for entry in logs:
            block = blocks[entry["blockNumber"]]
            if block["hash"] != entry["blockHash"]:
                return 0  # a reorg while we read: try again on the next poll
            events.append(self._decode(entry, block["timestamp"]))
        hashes = {number: "0x" + block["hash"].hex().removeprefix("0x") for number, block in blocks.items()}
        self.db.append([e for e in events if e is not None], hashes, last, self.settings.reorg_window)
        return sum(e is not None for e in events)

    def _decode(self, entry, block_time: int) -> MirroredEvent | None:
        if not entry["topics"]:
            return None
        abi = self._events.get((entry["address"], HexBytes(entry["topics"][0])))
        if abi is None:
            return None
        try:
            decoded = get_event_data(self.w3.codec, abi, entry)
        except MismatchedABI:
            return None
        return MirroredEvent(
            block_number=entry["blockNumber"],
            log_index=entry["logIndex"],
            block_hash="0x" + entry["blockHash"].hex().removeprefix("0x"),
            block_time=block_time,
            tx_hash="0x" + entry["transactionHash"].hex().removeprefix("0x"),
            contract=self._names[entry["address"]],
            event=decoded["event"],
            args={name: _plain(value) for name, value in decoded["args"].items()},
        )

    def _hash(self, number: int) -> str:
        return "0x" + self.w3.eth.get_block(number)["hash"].hex().removeprefix("0x")


def _signature(abi: dict) -> str:
    return f"{abi['name']}({','.join(canonical_type(i) for i in abi['inputs'])})"


def _plain(value):
    if isinstance(value, (bytes, bytearray)):
        return "0x" + bytes(value).hex()
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value
