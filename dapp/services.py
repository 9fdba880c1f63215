"""What the DApp reads and asks for: the node's files, its chain client and its live meter samples.

Everything arrives here as a parameter (config, clocks, the live feed, the signing key), so the same
app runs inside `gridcommons node run`, on its own, or in a test with a fabricated data folder.
"""

from __future__ import annotations

import json
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Callable, Iterator
from zoneinfo import ZoneInfo

from node.config import NodeConfig
from node.runtime.live import LiveSamples


class _Pool:
    """Reusable connections: the web server runs each request in a fresh thread."""

    def __init__(self, factory: Callable[[], object]):
        self._factory = factory
        self._idle: list = []
        self._lock = threading.Lock()

    @contextmanager
    def get(self) -> Iterator:
        with self._lock:
            item = self._idle.pop() if self._idle else None
        if item is None:
            item = self._factory()
        try:
            yield item
        finally:
            with self._lock:
                self._idle.append(item)

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for item in idle:
            item.close()


@dataclass
class ChainAccess:
    """A connection to the chain client with the deployment's contracts."""

    w3: object
    contracts: object
    community: object


@dataclass
class NodeServices:
    config: NodeConfig
    address: str
    clock: Callable[[], float]  # the node's time (accelerated in demos)
    wall: Callable[[], float] = time.time
    live: LiveSamples | None = None  # set when the DApp runs inside the node
    signer: object | None = None  # the node key, for signed data requests to peers
    running_status: Callable[[], dict] | None = None  # the node's own status, when the DApp runs inside it
    _pools: dict = field(default_factory=dict, repr=False)
    _chain: ChainAccess | None = field(default=None, repr=False)
    _chain_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def from_config(cls, config: NodeConfig) -> "NodeServices":
        """Read-only services for a DApp run beside the node: the address comes from the keystore file."""
        from node.runtime.clock import SimulatedClock

        try:
            address = "0x" + json.loads(config.chain.keystore.read_text())["address"].removeprefix("0x")
        except (OSError, ValueError, KeyError):
            address = ""
        c = config.clock
        clock = SimulatedClock(c.time_factor, c.start, c.wall_start) if c.time_factor != 1.0 else time.time
        from web3 import Web3

        return cls(config, Web3.to_checksum_address(address) if address else "", clock)

    @property
    def timezone(self) -> ZoneInfo:
        return ZoneInfo(self.config.timezone)

    # -- local files --------------------------------------------------------------------------

    def _pool(self, name: str, factory: Callable[[], object]) -> _Pool:
        pool = self._pools.get(name)
        if pool is None:
            pool = self._pools.setdefault(name, _Pool(factory))
        return pool

    def store(self):
        """`with services.store() as store:` a MeterStore (read side)."""
        from node.chain.deployment import CommunityInterval
        from node.store.store import MeterStore, StoreSettings

        def open_store():
            settings = StoreSettings(interval=CommunityInterval(self.config.chain.deployment).seconds())
            return MeterStore(self.config.store_path, settings, clock=self.clock, local=self.timezone)

        return self._pool("store", open_store).get()

    def mirror(self):
        from node.mirror.db import MirrorDB

        return self._pool("mirror", lambda: MirrorDB(self.config.mirror_path)).get()

    def actions(self):
        from node.actions.queue import ActionQueue

        return self._pool("actions", lambda: ActionQueue(self.config.actions_path, self.wall)).get()

    def dapp_db(self):
        from dapp.db import DappDB

        return self._pool("dapp", lambda: DappDB(self.config.dapp_path)).get()

    def outbox(self):
        from node.submit.outbox import Outbox

        return self._pool("outbox", lambda: Outbox(self.config.outbox_path)).get()

    def relay_journal(self):
        from node.relay import RelayJournal

        return self._pool("relays", lambda: RelayJournal(self.config.relay_journal_path)).get()

    def node_status(self) -> dict | None:
        """The node's status as `gridcommons node status` reads it from status.json (None before the
        node first ran); inside the node, asked directly, in the same shape."""
        if self.running_status is not None:
            return json.loads(json.dumps(self.running_status(), default=str))
        try:
            return json.loads(self.config.status_path.read_text())
        except (OSError, ValueError):
            return None

    # -- the chain ----------------------------------------------------------------------------

    def chain(self) -> ChainAccess:
        """The chain client and contracts; raises ChainUnreachable (or ChainError) if they are not there."""
        with self._chain_lock:
            if self._chain is None:
                from node.chain import deployment
                from node.chain.client import connect
                from node.chain.community import CommunityView
                from node.chain.contracts import CommunityContracts, load_abis

                w3 = connect(self.config.chain.rpc, timeout=3)
                contracts = CommunityContracts(w3, deployment.read(self.config.chain.deployment), load_abis(self.config.chain.manifest))
                self._chain = ChainAccess(w3, contracts, CommunityView(contracts["Community"]))
            return self._chain

    def forget_chain(self) -> None:
        """After a failed call: connect afresh next time."""
        with self._chain_lock:
            self._chain = None

    def close(self) -> None:
        for pool in self._pools.values():
            pool.close()
