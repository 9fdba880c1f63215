"""Nodes as `gridcommons node run` runs them, for tests: config files, accelerated time, references."""

from __future__ import annotations

import threading
import time

from node.chain.devnet import PREPAID, PRICE_PER_KWH, dev_account

from node import config as node_config
from node.allocation import AllocationKey
from node.chain.timekeeper import ChainTimeKeeper
from node.runtime.clock import SimulatedClock
from node.runtime.devnode import DEV_ENV, write_dev_node
from node.settlement import MemberInterval, settle_interval

ENV = DEV_ENV


def write_node(directory, name, account_index, profile, deployment, rpc, clock: SimulatedClock, seed,
               settle_patience=900, extra="") -> node_config.NodeConfig:
    """A node with a simulated meter, like `gridcommons init` makes, for dev account `account_index`.

    The settle patience is long in wall terms (10 s at 90x), so a node slowed by a busy test machine
    is waited for rather than settled without.
    """
    meter = f'source = "simulator"\nprofile = "{profile}"\nseed = {seed}\nevery_seconds = 10'
    return write_dev_node(directory, name, dev_account(account_index), deployment, rpc, meter, clock,
                          settle_patience=settle_patience, extra=extra)


class KeptTime:
    """Accelerated time with a thread that drags the chain's clock along (tolerating a dead chain)."""

    def __init__(self, w3, start: float, factor: float):
        self.clock = SimulatedClock(factor, start, time.time())
        self.keeper = ChainTimeKeeper(w3, self.clock)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._keep, daemon=True)
        self._thread.start()

    def _keep(self) -> None:
        while not self._stop.wait(0.1):
            try:
                self.keeper.step()
            except Exception:
                self.keeper.set_to = None  # the chain is down; set it again once it answers

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def wait_until(predicate, timeout: float, every: float = 0.25) -> bool:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(every)
    return predicate()


def reference_balances(readings, settled, roles: dict[int, tuple[bool, bool]]) -> dict[int, int]:
    """Replay every settled interval through node.settlement, from the prepaid balances."""
    balances = {member_id: PREPAID for member_id in roles}
    by_interval: dict[int, list] = {}
    for r in readings:
        by_interval.setdefault(r.args.interval, []).append(r.args)
    for interval in sorted(settled):
        members = [
            MemberInterval(a.memberId, a.importWh, a.exportWh, *roles[a.memberId], balance=balances[a.memberId])
            for a in by_interval.get(interval, [])
        ]
        for member in settle_interval(AllocationKey.PRORATA, PRICE_PER_KWH, members).members:
            balances[member.member_id] += member.token_delta
    return balances


def chain_record(contract):
    """(settled intervals, ReadingSubmitted logs) as the chain has them."""
    settled = [e.args.interval for e in contract.events.IntervalSettled().get_logs(from_block=0)]
    return settled, contract.events.ReadingSubmitted().get_logs(from_block=0)
